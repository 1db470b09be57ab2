import { PassThrough } from 'node:stream';
import { type MediaServer, startMediaServer } from '@runway-relay/simulator';
import {
  type RedisServerHarness,
  type S3Harness,
  startRedisServer,
  startS3Server,
  waitFor,
} from '@runway-relay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestIngress, providerHeaders, type TestIngress } from './helpers/ingress.js';
import { objectPrefix, simulatedSuccess } from './helpers/stack.js';
import { readEvents, startTestWorker, type TestWorker } from './helpers/worker.js';

/**
 * Small enough that a few hundred callbacks fill it, large enough that Redis's own overheads
 * (Lua VM, client buffers: a few hundred KB) fit in the headroom.
 */
const MAXMEMORY = '6mb';
/** An unknown field the ingress keeps with the job and the task: ~5 KB per callback in all. */
const FILLER = 'x'.repeat(2_000);

let redis: RedisServerHarness;
let s3: S3Harness;
let media: MediaServer;
let ingress: TestIngress | undefined;
let worker: TestWorker | undefined;

beforeAll(async () => {
  [redis, s3, media] = await Promise.all([
    startRedisServer({ args: ['--maxmemory', MAXMEMORY, '--maxmemory-policy', 'noeviction'] }),
    startS3Server({ buckets: [] }),
    startMediaServer(),
  ]);
});
afterAll(async () => {
  await worker?.close();
  await ingress?.close();
  await media?.close();
  await s3?.stop();
  await redis?.dispose();
});

/** `used_memory / maxmemory` as Redis reports it now. */
async function memoryFraction(current: TestIngress): Promise<number> {
  const info = await current.inspect.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
  return field('used_memory') / field('maxmemory');
}

/** The pino lines a worker wrote, parsed. */
function captureLines() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) if (part.startsWith('{')) lines.push(JSON.parse(part) as Record<string, unknown>);
  });
  return { stream, lines };
}

describe('Redis at maxmemory (noeviction)', () => {
  it('the ingress keeps headroom, the backlog drains, and the ingress recovers by itself', async () => {
    const current = await buildTestIngress(redis.url, {
      REDIS_MEMORY_CHECK_MS: '50',
      REDIS_MEMORY_HEADROOM: '0.8',
      JOB_ATTEMPTS: '4',
      JOB_BACKOFF_MS: '50',
    });
    ingress = current;
    const prefix = current.config.QUEUE_PREFIX;
    const stream = `${prefix}:events`;
    let sequence = 0;
    const send = async () => {
      const taskId = `mm-${++sequence}`;
      const body = { ...simulatedSuccess(media, taskId, { size: 2_000 }, null), filler: FILLER };
      const res = await current.app.inject({
        method: 'POST',
        url: '/callbacks/runway',
        headers: providerHeaders(taskId),
        payload: JSON.stringify(body),
      });
      return { taskId, res };
    };

    // 1. No worker yet: callbacks pile up until the ingress refuses them, before Redis is full.
    const acked: string[] = [];
    let refusal: Awaited<ReturnType<typeof send>>['res'] | undefined;
    while (refusal === undefined && sequence < 20_000) {
      const { taskId, res } = await send();
      if (res.statusCode === 200) acked.push(taskId);
      else refusal = res;
    }
    expect(refusal?.statusCode).toBe(503);
    expect(refusal?.json()).toMatchObject({ error: 'redis_memory_full' });
    expect(refusal?.headers['retry-after']).toBe('30');
    expect(acked.length).toBeGreaterThan(100);
    const peak = await memoryFraction(current);
    expect(peak).toBeGreaterThan(0.8);
    expect(peak).toBeLessThan(1);
    const metrics = await current.ops.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^relay_callbacks_refused_memory_total [1-9]/m);
    // Ops routes are not refused.
    expect((await current.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    // 2. A worker drains the backlog: every ACKed callback ends stored.
    const log = captureLines();
    worker = await startTestWorker(
      redis.url,
      s3,
      {
        QUEUE_PREFIX: prefix,
        EVENTS_STREAM: stream,
        S3_PREFIX: objectPrefix(prefix),
        JOB_ATTEMPTS: '4',
        JOB_BACKOFF_MS: '50',
        LOG_LEVEL: 'info',
        WORKER_CONCURRENCY: '16',
      },
      { logDestination: log.stream },
    );
    const stored = await waitFor(
      async () => {
        const events = (await readEvents(redis.url, stream)).filter((e) => e.type === 'media.stored');
        return events.length >= acked.length ? events : null;
      },
      { timeoutMs: 60_000, intervalMs: 200, description: `${acked.length} media.stored` },
    );
    expect(new Set(stored.map((e) => e.task_id))).toEqual(new Set(acked));

    // 3. The ingress accepts again by itself once memory is back under the headroom.
    const recovered = await waitFor(
      async () => {
        const { taskId, res } = await send();
        return res.statusCode === 200 ? taskId : null;
      },
      { timeoutMs: 20_000, intervalMs: 100, description: 'ingress accepting again' },
    );
    // What freed the memory: finished jobs stay in the completed set (history) until trimmed.
    expect(log.lines.some((line) => String(line.msg).startsWith('redis memory above headroom: trimmed'))).toBe(true);
    await waitFor(
      async () =>
        (await readEvents(redis.url, stream)).some((e) => e.type === 'media.stored' && e.task_id === recovered),
      { timeoutMs: 10_000, description: 'the callback accepted after recovery stored' },
    );

    // 4. The worker never hit the limit, and said so in a bounded number of lines if it did.
    const oomLines = log.lines.filter((line) => JSON.stringify(line).includes('OOM'));
    expect(oomLines.length).toBeLessThanOrEqual(5);
  }, 45_000);
});
