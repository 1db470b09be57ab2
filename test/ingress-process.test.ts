import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { type RedisServerHarness, startRedisServer, waitFor } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerHeaders, successBody, TEST_HMAC_KEY, uniquePrefix } from './helpers/ingress.js';
import { spawnService } from './helpers/processes.js';

let redisServer: RedisServerHarness;
beforeAll(async () => {
  // AOF and noeviction: the start check passes without REDIS_ALLOW_VOLATILE.
  redisServer = await startRedisServer({ persistent: true });
});
afterAll(async () => {
  await redisServer.dispose();
});

const startIngress = (env: Record<string, string>) => spawnService('ingress', env);

describe('the ingress process', () => {
  it('refuses to start on a bad variable, naming it', async () => {
    const { child, output } = startIngress({ REDIS_URL: redisServer.url, INGRESS_PORT: 'eighty' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    expect(output()).toContain('INGRESS_PORT');
  });

  it('refuses to start with no sender authentication configured', async () => {
    const { child, output } = startIngress({ REDIS_URL: redisServer.url });
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    expect(output()).toContain('no sender authentication configured');
  });

  it('refuses to start on a Redis that evicts keys, naming the setting', async () => {
    const evicting = await startRedisServer({ persistent: true, args: ['--maxmemory-policy', 'allkeys-lru'] });
    try {
      const { child, output, stop } = startIngress({
        REDIS_URL: evicting.url,
        INGRESS_HOST: '127.0.0.1',
        INGRESS_PORT: '0',
        CALLBACK_HMAC_KEYS: TEST_HMAC_KEY,
      });
      try {
        const exited = once(child, 'exit');
        await waitFor(() => child.exitCode !== null, { timeoutMs: 20_000, description: 'ingress exit' });
        const [code] = await exited;
        expect(code).toBe(78);
        expect(output()).toContain('maxmemory-policy is allkeys-lru');
        expect(output()).toContain('must be noeviction');
        expect(output()).not.toContain('ingress listening');
      } finally {
        await stop('SIGKILL');
      }
    } finally {
      await evicting.dispose();
    }
  });

  it('serves signed callbacks from env, logs JSON without secrets, and drains on SIGTERM', async () => {
    const prefix = uniquePrefix();
    // Port 0: the kernel picks a free port at bind time (a port from freePort() may be taken by
    // then), and the 'ingress listening' line says which.
    const { child, output } = startIngress({
      REDIS_URL: redisServer.url,
      QUEUE_PREFIX: prefix,
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: '0',
      INGRESS_OPS_HOST: '127.0.0.1',
      INGRESS_OPS_PORT: '0',
      CALLBACK_HMAC_KEYS: TEST_HMAC_KEY,
    });
    try {
      const { port, ops_port: opsPort } = await waitFor(
        () =>
          output()
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { msg?: string; port?: number; ops_port?: number })
            .find((l) => l.msg === 'ingress listening'),
        { timeoutMs: 20_000, description: 'ingress start' },
      );
      // Metrics and readiness on the ops port only; the public port keeps /healthz for load balancers.
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text()).toContain(
        'relay_callbacks_received_total',
      );
      const taskId = randomUUID();
      const send = () =>
        fetch(`http://127.0.0.1:${port}/callbacks/runway`, {
          method: 'POST',
          headers: providerHeaders(taskId),
          body: JSON.stringify(successBody(taskId)),
        }).then((r) => r.json());
      // The Redis of this file is noeviction with AOF: ready without REDIS_ALLOW_VOLATILE.
      const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`).then((r) => r.json());
      expect(ready).toEqual({ status: 'ready', checks: { redis: 'ok', redis_config: 'ok' } });
      expect(await send()).toEqual({ status: 'received', task_id: taskId });
      expect(await send()).toEqual({ status: 'duplicate', task_id: taskId });

      const redis = new Redis(redisServer.url);
      expect(await redis.exists(`${prefix}:runway-callbacks:${taskId}.success`)).toBe(1);
      await redis.quit();

      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      const lines = output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.some((l) => l.msg === 'shutdown complete')).toBe(true);
      // One line per request, saying what became of the callback.
      const about = lines.filter((l) => l.task_id === taskId);
      expect(about.map((l) => [l.msg, l.result, l.status])).toEqual([
        ['request completed', 'received', 200],
        ['request completed', 'duplicate', 200],
      ]);
      expect(output()).not.toContain(TEST_HMAC_KEY);
      expect(output()).not.toContain('sig=secret');
      expect(output()).not.toContain(providerHeaders(taskId)['x-webhook-signature']);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
