import { configProblems } from '@runway-relay/testkit/config-problems';
import { describe, expect, it } from 'vitest';
import { hashTagOf } from './common.js';
import { loadDashboardConfig } from './dashboard.js';
import { loadIngressConfig } from './ingress.js';
import { loadWorkerConfig } from './worker.js';

const INGRESS = { CALLBACK_HMAC_KEYS: 'k' };

const problems = configProblems;

describe('hashTagOf', () => {
  it.each([
    ['{runway}', 'runway'],
    ['app{runway}x', 'runway'],
    ['{{a}}', '{a'],
    ['bull', null],
    ['{}runway', null],
    ['run{way', null],
  ])('%s → %s', (key, tag) => {
    expect(hashTagOf(key)).toBe(tag);
  });
});

describe('REDIS_CLUSTER_NODES', () => {
  it('is empty by default: a single Redis at REDIS_URL', () => {
    expect(loadWorkerConfig({}).REDIS_CLUSTER_NODES).toEqual([]);
  });

  it('parses host:port lists, IPv6 in brackets', () => {
    const config = loadWorkerConfig({
      REDIS_CLUSTER_NODES: 'redis-0.redis:6379, 10.0.0.2:7001,[::1]:7002',
      QUEUE_PREFIX: '{runway}',
    });
    expect(config.REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-0.redis', port: 6379 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it('names the variable for a malformed node', () => {
    const found = problems(() =>
      loadWorkerConfig({ REDIS_CLUSTER_NODES: 'redis-0:6379,redis-1', QUEUE_PREFIX: '{r}' }),
    );
    expect(found).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES\.1: "redis-1" is not host:port/)]);
    expect(problems(() => loadWorkerConfig({ REDIS_CLUSTER_NODES: 'h:70000', QUEUE_PREFIX: '{r}' }))).toHaveLength(1);
  });

  it('refuses, in every service, a cluster whose QUEUE_PREFIX has no hash tag', () => {
    const env = { REDIS_CLUSTER_NODES: '127.0.0.1:7000', QUEUE_PREFIX: 'runway' };
    for (const load of [
      () => loadIngressConfig({ ...INGRESS, ...env }),
      () => loadWorkerConfig(env),
      () => loadDashboardConfig(env),
    ]) {
      expect(problems(load)).toEqual([
        expect.stringMatching(/^QUEUE_PREFIX: must contain a hash tag such as \{runway\}/),
      ]);
    }
    expect(problems(() => loadWorkerConfig({ ...env, QUEUE_PREFIX: '{}runway' }))).toHaveLength(1);
    expect(problems(() => loadWorkerConfig({ ...env, QUEUE_PREFIX: '{runway}' }))).toEqual([]);
    // Without a cluster any prefix is fine.
    expect(problems(() => loadWorkerConfig({ QUEUE_PREFIX: 'runway' }))).toEqual([]);
  });
});

describe('REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT_MS', () => {
  it('default to off and 500 ms', () => {
    const config = loadIngressConfig(INGRESS);
    expect(config.REDIS_WAIT_REPLICAS).toBe(0);
    expect(config.REDIS_WAIT_TIMEOUT_MS).toBe(500);
  });

  it('require the WAIT timeout below the command timeout when on', () => {
    const env = { ...INGRESS, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '2000' };
    expect(problems(() => loadIngressConfig(env))).toEqual([
      expect.stringMatching(/^REDIS_WAIT_TIMEOUT_MS: must be below REDIS_COMMAND_TIMEOUT_MS \(2000\)/),
    ]);
    expect(problems(() => loadIngressConfig({ ...env, REDIS_COMMAND_TIMEOUT_MS: '2500' }))).toEqual([]);
    expect(problems(() => loadIngressConfig({ ...env, REDIS_WAIT_REPLICAS: '0' }))).toEqual([]);
    expect(problems(() => loadIngressConfig({ ...INGRESS, REDIS_WAIT_TIMEOUT_MS: '0' }))).toHaveLength(1);
  });
});
