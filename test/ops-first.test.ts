import { loadDashboardConfig, loadIngressConfig, loadWorkerConfig } from '@runway-relay/contracts';
import { createDashboard } from '@runway-relay/dashboard';
import { createIngress } from '@runway-relay/ingress';
import type { ServiceRoot } from '@runway-relay/runtime';
import {
  type RedisServerHarness,
  type S3Harness,
  startRedisServer,
  startS3Server,
  waitFor,
} from '@runway-relay/testkit';
import { createWorker, type WorkerService } from '@runway-relay/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardStorageEnv } from './helpers/dashboard.js';
import { testIngressEnv, uniquePrefix } from './helpers/ingress.js';
import { testWorkerEnv } from './helpers/worker.js';

/**
 * Issue 14 item 14: a service's ops listener answers before its dependencies do, so an
 * orchestrator sees a live process that says what it waits for, instead of silence.
 */

let redisServer: RedisServerHarness;
let s3: S3Harness;

beforeAll(async () => {
  [redisServer, s3] = await Promise.all([startRedisServer(), startS3Server({ buckets: [] })]);
});
afterAll(async () => {
  await s3?.stop();
  await redisServer?.dispose();
});

interface Readiness {
  status: string;
  checks: Record<string, string>;
}

async function probe(port: number, path: '/healthz' | '/readyz') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as Readiness };
}

describe('a worker whose object store is unreachable at start', () => {
  let worker: WorkerService | undefined;
  afterAll(async () => {
    await worker?.close();
  });

  it('answers /healthz 200 and /readyz 503 naming storage, then becomes ready when S3 comes up', async () => {
    // The S3 server's port, with nothing listening on it yet.
    await s3.suspend();
    const config = loadWorkerConfig(testWorkerEnv(redisServer.url, s3, { QUEUE_PREFIX: uniquePrefix() }));
    worker = createWorker(config);
    const started = worker.start();
    started.catch(() => undefined);

    const opsPort = await waitFor(
      () => {
        const address = worker?.ops.server.address();
        return typeof address === 'object' && address !== null ? address.port : null;
      },
      { description: 'the ops listener' },
    );
    expect(await probe(opsPort, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    const waiting = await waitFor(
      async () => {
        const readiness = await probe(opsPort, '/readyz');
        return readiness.body.checks.start === 'waiting for the object store (bucket)' ? readiness : null;
      },
      { description: 'the start waiting for the bucket' },
    );
    expect(waiting.status).toBe(503);
    expect(waiting.body.status).toBe('not_ready');
    expect(waiting.body.checks).toMatchObject({ redis: 'ok', redis_config: 'ok' });
    expect(waiting.body.checks.storage).toEqual(expect.any(String));
    expect(waiting.body.checks.storage).not.toBe('ok');

    await s3.resume();
    expect(await started).toEqual({ opsPort });
    const ready = await probe(opsPort, '/readyz');
    expect(ready).toEqual({
      status: 200,
      body: {
        status: 'ready',
        checks: { redis: 'ok', redis_config: 'ok', storage: 'ok' },
        provider_verify: 'off',
      },
    });
    // Started for real: the bucket exists and the BullMQ worker runs.
    expect(worker.worker.isRunning()).toBe(true);
  });
});

/** The bound port of a Fastify app once it listens. */
function portOf(app: { server: { address(): unknown } }): number | null {
  const address = app.server.address() as { port?: number } | null;
  return typeof address === 'object' && address !== null && address.port !== undefined ? address.port : null;
}

describe('an ingress and a dashboard whose Redis is down at start', () => {
  let late: RedisServerHarness;
  const services: ServiceRoot[] = [];
  beforeAll(async () => {
    late = await startRedisServer();
    await late.stop();
  });
  afterAll(async () => {
    for (const service of services) await service.close();
    await late?.dispose();
  });

  it('answer /healthz 200 and /readyz 503 naming redis on their ops port, then become ready with Redis', async () => {
    const prefix = uniquePrefix();
    const ingress = createIngress(loadIngressConfig(testIngressEnv(late.url, { QUEUE_PREFIX: prefix })));
    const dashboard = createDashboard(
      loadDashboardConfig({
        REDIS_URL: late.url,
        QUEUE_PREFIX: prefix,
        NODE_ENV: 'development',
        LOG_LEVEL: 'silent',
        DASHBOARD_HOST: '127.0.0.1',
        DASHBOARD_PORT: '0',
        ...dashboardStorageEnv(s3),
      }),
    );
    services.push(ingress, dashboard);
    const starts = [ingress.start(), dashboard.start()];
    for (const start of starts) start.catch(() => undefined);

    const ingressOps = await waitFor(() => portOf(ingress.ops), { description: 'the ingress ops listener' });
    const dashboardPort = await waitFor(() => portOf(dashboard.app), { description: 'the dashboard listener' });
    // The public callback port waits for Redis: nothing may be ACKed before the safety check.
    expect(portOf(ingress.app)).toBeNull();
    for (const port of [ingressOps, dashboardPort]) {
      expect(await probe(port, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
      const readiness = await probe(port, '/readyz');
      expect(readiness.status).toBe(503);
      expect(readiness.body.checks.redis).not.toBe('ok');
    }
    expect((await probe(ingressOps, '/readyz')).body.checks.start).toBe('waiting for redis');

    await late.start();
    const [addresses] = await Promise.all(starts);
    expect(addresses).toEqual({ port: portOf(ingress.app), opsPort: ingressOps });
    expect(await probe(ingressOps, '/readyz')).toEqual({
      status: 200,
      body: { status: 'ready', checks: { redis: 'ok', redis_config: 'ok' } },
    });
    // The dashboard's storage check is its own (the bucket need not exist for Redis to be up).
    expect((await probe(dashboardPort, '/readyz')).body.checks.redis).toBe('ok');
  });
});
