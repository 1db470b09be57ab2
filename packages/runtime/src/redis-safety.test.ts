import { type RedisServerHarness, startRedisCluster, startRedisServer } from '@runway-relay/testkit';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkRedisSafety, redisConfigReadiness, redisSafetyAtStart } from './redis-safety.js';

const strict = { waitReplicas: 0, assumeSafe: false };
const servers: RedisServerHarness[] = [];
const clients: Array<Redis | Cluster> = [];

async function serverWith(args: string[], persistent = false): Promise<RedisServerHarness> {
  const server = await startRedisServer({ persistent, args });
  servers.push(server);
  return server;
}

function connect(url: string, enableReadyCheck = true): Redis {
  // The ready check sends INFO, which a user without INFO may not run.
  const client = new Redis(url, { maxRetriesPerRequest: 1, enableReadyCheck });
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.dispose()));
});

describe('checkRedisSafety on a single Redis', () => {
  let safe: RedisServerHarness;
  beforeAll(async () => {
    safe = await serverWith(['--maxmemory-policy', 'noeviction'], true);
  });

  it('passes noeviction with AOF', async () => {
    expect(await checkRedisSafety(connect(safe.url), strict)).toEqual({ ok: true });
  });

  it('names an evicting maxmemory-policy', async () => {
    const server = await serverWith(['--maxmemory', '10mb', '--maxmemory-policy', 'allkeys-lru'], true);
    const result = await checkRedisSafety(connect(server.url), strict);
    expect(result).toEqual({
      ok: false,
      problems: [expect.objectContaining({ setting: 'maxmemory-policy', node: `127.0.0.1:${server.port}` })],
    });
    if (!result.ok) expect(result.problems[0]?.message).toContain('maxmemory-policy is allkeys-lru');
  });

  it('names missing persistence, unless replicas acknowledge every callback', async () => {
    const server = await serverWith([]);
    const result = await checkRedisSafety(connect(server.url), strict);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems.map((p) => p.setting)).toEqual(['persistence']);
      expect(result.problems[0]?.message).toContain('appendonly is no');
    }
    expect(await checkRedisSafety(connect(server.url), { ...strict, waitReplicas: 1 })).toEqual({ ok: true });
  });

  it('falls back to INFO when CONFIG is refused (ACL NOPERM, renamed command)', async () => {
    const admin = connect(safe.url);
    await admin.call('ACL', 'SETUSER', 'noconfig', 'on', '>pw', '~*', '&*', '+@all', '-config');
    const viaInfo = connect(`redis://noconfig:pw@127.0.0.1:${safe.port}`);
    await expect(viaInfo.call('CONFIG', 'GET', 'appendonly')).rejects.toThrow(/NOPERM/);
    expect(await checkRedisSafety(viaInfo, strict)).toEqual({ ok: true });

    const renamed = await serverWith(['--rename-command', 'CONFIG', '""', '--maxmemory-policy', 'volatile-lru']);
    const result = await checkRedisSafety(connect(renamed.url), strict);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems.map((p) => p.message)).toEqual([
        expect.stringContaining('maxmemory-policy is volatile-lru'),
        expect.stringContaining('appendonly is no'),
      ]);
    }
  });

  it('refuses a Redis whose settings cannot be read at all, unless REDIS_ASSUME_SAFE', async () => {
    const admin = connect(safe.url);
    await admin.call('ACL', 'SETUSER', 'blind', 'on', '>pw', '~*', '&*', '+@all', '-config', '-info');
    const blind = connect(`redis://blind:pw@127.0.0.1:${safe.port}`, false);
    const result = await checkRedisSafety(blind, strict);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems.map((p) => p.setting)).toEqual(['unverifiable']);
      expect(result.problems[0]?.message).toContain('REDIS_ASSUME_SAFE=true');
    }
    expect(await checkRedisSafety(blind, { ...strict, assumeSafe: true })).toEqual({ ok: true });
  });
});

describe('start check and readiness', () => {
  const logger = pino({ level: 'silent' });

  it('refuses to start with a message naming the setting; REDIS_ALLOW_VOLATILE lets it start', async () => {
    const server = await serverWith(['--maxmemory-policy', 'allkeys-lru']);
    const redis = connect(server.url);
    const refused = await redisSafetyAtStart(redis, { ...strict, allowVolatile: false }, logger);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.message).toContain('maxmemory-policy is allkeys-lru');
      expect(refused.message).toContain('REDIS_ALLOW_VOLATILE=true only for development');
    }
    expect(await redisSafetyAtStart(redis, { ...strict, allowVolatile: true }, logger)).toEqual({ ok: true });
  });

  it('readiness fails while a bad setting stands and re-reads it after the cache time', async () => {
    const server = await serverWith([], true);
    const redis = connect(server.url);
    const cached = redisConfigReadiness(redis, { ...strict, allowVolatile: false }, 60_000);
    const fresh = redisConfigReadiness(redis, { ...strict, allowVolatile: false }, 0);
    await expect(cached()).resolves.toBeUndefined();
    await redis.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random');
    await expect(cached()).resolves.toBeUndefined();
    await expect(fresh()).rejects.toThrow('maxmemory-policy is allkeys-random');
    const volatile = redisConfigReadiness(redis, { ...strict, allowVolatile: true }, 0);
    await expect(volatile()).resolves.toBeUndefined();
  });
});

describe('checkRedisSafety on a Redis Cluster', () => {
  it('checks every master', async () => {
    const cluster = await startRedisCluster({
      masters: 3,
      replicasPerMaster: 0,
      args: ['--maxmemory-policy', 'allkeys-lru'],
    });
    const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    clients.push(client);
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const result = await checkRedisSafety(client, { ...strict, waitReplicas: 1 });
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.problems.map((p) => p.node).sort()).toEqual(cluster.ports.map((p) => `127.0.0.1:${p}`).sort());
        for (const problem of result.problems) expect(problem.setting).toBe('maxmemory-policy');
      }
    } finally {
      await cluster.dispose();
    }
  });
});
