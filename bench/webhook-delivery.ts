/**
 * Webhook delivery (docs/delivery.md): the delivery package running for real — a real
 * redis-server, events added to the events stream, the fan-out consumer, the BullMQ
 * `deliveries` worker with the processor (gate, breaker, Standard Webhooks signing, presigned
 * links, attempt log), started by the worker's own `startDelivery` in a process of its own
 * (bench/delivery-worker.ts) — against a bare loop
 * of undici POSTs at the same concurrency with a body of the same size
 * (bench/baseline-webhook-posts.ts), both to the same receiver on 127.0.0.1.
 *
 * 1. Throughput: BURST events at once → deliveries/s; the baseline sends BURST POSTs.
 * 2. Latency: RATE events/s for BENCH_DURATION_S → p50/p99 event added → request received;
 *    the baseline at the same rate, scheduled send → request received.
 * 3. Memory: 10,000 messages for a dead endpoint (connection refused, breaker open): worker RSS
 *    and Redis used_memory before and after, while the jobs keep waking up and going back to wait.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type MediaStoredEvent, StorageEnvSchema } from '@runway-relay/contracts';
import { buildPayload, createEndpointStore, DELIVERY_QUEUE, deliveryKeys, messageIdFor } from '@runway-relay/delivery';
import { createMinioClient } from '@runway-relay/storage';
import type { ScriptProcess } from '@runway-relay/testkit';
import { freePort, startRedisServer, waitFor } from '@runway-relay/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { type BenchContext, type BenchResult, ratio } from './lib/bench-types.js';
import { formatNumber } from './lib/chart.js';
import { processCpuSeconds } from './lib/cpu-usage.js';
import { rssOf, sampleRss } from './lib/rss.js';
import { startTimingReceiver, type TimingReceiver } from './lib/timing-receiver.js';

/** DELIVERY_CONCURRENCY's default; the baseline uses as many connections. */
const CONCURRENCY = 16;
const WARMUP = 500;
const BURST = Number(process.env.BENCH_WEBHOOK_BURST ?? 2000);
/** Well below the fan-out's pace on the 2 shared cores (over 1,000 events/s in a burst, see the notes), so this is latency, not queueing. */
const RATE = 50;
const DEAD_MESSAGES = 10_000;
/** How long the dead endpoint's jobs keep cycling (wake, breaker open, wait) while RSS is sampled. */
const DEAD_OBSERVE_MS = 10_000;
/** DELIVERY_BREAKER_COOLDOWN_MS's default: the jobs wait out the fan-out in the delayed set. */
const BREAKER_COOLDOWN_MS = 60_000;
const MiB = 1024 * 1024;
/** Targets: the worker retains nothing per queued message; Redis keeps a job and a message record. */
const HEAP_GROWTH_TARGET_MiB = 16;
const REDIS_PER_MESSAGE_TARGET = 4096;

const now = () => performance.timeOrigin + performance.now();
const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** "p50 / p99 ms" of one stage. */
const stageText = (values: readonly number[]) =>
  `${Math.round(percentile(values, 50))} / ${Math.round(percentile(values, 99))} ms`;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

let sequence = 0;
/** A media.stored event as the worker writes it: a video and a cover. */
function storedEvent(): MediaStoredEvent {
  sequence += 1;
  const taskId = randomUUID();
  const object = (kind: 'video' | 'cover', key: string, size: number, type: string) => ({
    kind,
    bucket: 'runway-media',
    key: `runway/${taskId}/${key}`,
    size,
    sha256: randomBytes(32).toString('hex'),
    content_type: type,
  });
  return {
    v: 1,
    id: `evt_bench_${sequence}_${randomUUID().slice(0, 8)}`,
    type: 'media.stored',
    task_id: taskId,
    at: new Date().toISOString(),
    video_id: `vid_${sequence}`,
    objects: [object('video', 'video.mp4', 2_097_152, 'video/mp4'), object('cover', 'cover.jpg', 81_920, 'image/jpeg')],
    timings: { total_ms: 1234, transfer_ms: 987 },
    attempts: 1,
    missing: [],
  };
}

interface Side {
  prefix: string;
  stream: string;
  endpointId: string;
  secret: string;
}

async function setUpSide(redis: Redis, url: string): Promise<Side> {
  const prefix = `wh${randomUUID().slice(0, 8)}`;
  const endpoints = createEndpointStore({
    redis,
    keys: deliveryKeys(prefix),
    policy: { allowHttp: true, allowPrivate: true },
  });
  const { endpoint, secret } = await endpoints.create({ url, max_in_flight: CONCURRENCY, description: 'bench' });
  return { prefix, stream: `${prefix}:events`, endpointId: endpoint.id, secret };
}

async function startDeliveryWorker(
  ctx: BenchContext,
  redisUrl: string,
  side: Side,
  env: Record<string, string> = {},
): Promise<ScriptProcess> {
  const proc = ctx.processes.spawn({
    script: 'bench/delivery-worker.ts',
    nodeArgs: ['--expose-gc'],
    env: {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: side.prefix,
      EVENTS_STREAM: side.stream,
      DELIVERY_ALLOW_HTTP: 'true',
      DELIVERY_ALLOW_PRIVATE: 'true',
      DELIVERY_CONCURRENCY: String(CONCURRENCY),
      LOG_LEVEL: 'error',
      NODE_ENV: 'production',
      ...env,
    },
  });
  ctx.defer(() => proc.stop().then(() => undefined));
  await waitFor(
    () => {
      if (proc.child.exitCode !== null) throw new Error(`delivery worker exited: ${proc.output().slice(-2000)}`);
      return proc.output().includes('delivery worker ready');
    },
    { timeoutMs: 30_000, intervalMs: 50, description: 'delivery worker ready' },
  );
  return proc;
}

/** Adds the events to the stream as one pipeline; returns when they were sent (ms) and the last entry id. */
async function addEvents(
  redis: Redis,
  stream: string,
  events: readonly MediaStoredEvent[],
): Promise<{ at: number; lastId: string }> {
  const pipeline = redis.pipeline();
  for (const event of events) pipeline.xadd(stream, '*', 'event', JSON.stringify(event));
  const at = now();
  const replies = (await pipeline.exec()) ?? [];
  return { at, lastId: String(replies.at(-1)?.[1] ?? '') };
}

/** Waits until the fan-out consumer group has read and acknowledged every entry up to `lastId`. */
async function waitFannedOut(redis: Redis, stream: string, lastId: string, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
      const fields = groups[0] ?? [];
      const lastDelivered = fields[fields.indexOf('last-delivered-id') + 1];
      const pending = Number(fields[fields.indexOf('pending') + 1]);
      return lastDelivered === lastId && pending === 0;
    },
    { timeoutMs, intervalMs: 100, description: `fan-out up to ${lastId}` },
  );
}

async function waitDelivered(receiver: TimingReceiver, ids: readonly string[], timeoutMs: number): Promise<number> {
  await waitFor(() => ids.every((id) => receiver.deliveredAt.has(id)), {
    timeoutMs,
    intervalMs: 20,
    description: `${ids.length} webhooks delivered`,
  });
  return Math.max(...ids.map((id) => receiver.deliveredAt.get(id) ?? 0));
}

async function runBaseline(ctx: BenchContext, env: Record<string, string>) {
  const proc = ctx.processes.spawn({
    script: 'bench/baseline-webhook-posts.ts',
    env: { CONCURRENCY: String(CONCURRENCY), ...env },
  });
  ctx.defer(() => proc.stop().then(() => undefined));
  const code = await new Promise<number | null>((resolve) => proc.child.once('exit', resolve));
  const line = proc
    .output()
    .split('\n')
    .find((l: string) => l.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`webhook baseline failed: ${proc.output().slice(-2000)}`);
  return JSON.parse(line) as { ms: number; sent: number; errors: number };
}

/**
 * Where event→delivered went, from the BullMQ job of each message (kept after completion):
 * fan-out (XADD → job added), queue wait (added → taken by the worker), attempt (taken → received).
 */
async function latencyStages(
  redis: Redis,
  prefix: string,
  addedAt: ReadonlyMap<string, number>,
  deliveredAt: ReadonlyMap<string, number>,
): Promise<Record<'fanOut' | 'wait' | 'attempt', number[]>> {
  const queue = new Queue(DELIVERY_QUEUE, { connection: redis, prefix });
  const stages = { fanOut: [] as number[], wait: [] as number[], attempt: [] as number[] };
  try {
    for (const [id, at] of addedAt) {
      const job = await queue.getJob(id);
      const delivered = deliveredAt.get(id);
      if (!job?.processedOn || delivered === undefined) continue;
      stages.fanOut.push(job.timestamp - at);
      stages.wait.push(job.processedOn - job.timestamp);
      stages.attempt.push(delivered - job.processedOn);
    }
  } finally {
    await queue.close();
  }
  return stages;
}

/** Collects garbage in the delivery worker and reads its memory (bench/delivery-worker.ts, SIGUSR2). */
async function retainedMemory(proc: ScriptProcess): Promise<{ rss: number; heapUsed: number }> {
  const seen = proc.output().split('memory ').length;
  proc.child.kill('SIGUSR2');
  const line = await waitFor(
    () => {
      const parts = proc.output().split('memory ');
      return parts.length > seen ? parts.at(-1)?.split('\n')[0] : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 20, description: 'memory probe' },
  );
  return z.object({ rss: z.number(), heapUsed: z.number() }).parse(JSON.parse(line));
}

async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const redisServer = await startRedisServer();
  ctx.defer(() => redisServer.dispose());
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  ctx.defer(() => void redis.disconnect());
  const receiver = await startTimingReceiver();
  ctx.defer(() => receiver.close());
  const failures: string[] = [];

  // The baseline's body: the delivery body of a media.stored event, presigned links included.
  // Presigned by a client on the same settings as the delivery worker's (the S3_* defaults).
  const s3 = createMinioClient(StorageEnvSchema.parse({}));
  const body = JSON.stringify(
    await buildPayload(storedEvent(), {
      metadataFor: async () => null,
      presign: (bucket, key, ttl) => s3.presignedGetObject(bucket, key, ttl),
      linkTtlS: 86_400,
    }),
  );

  // 1 + 2, the delivery side.
  const side = await setUpSide(redis, receiver.url);
  const worker = await startDeliveryWorker(ctx, redisServer.url, side);
  const idsOf = (events: readonly MediaStoredEvent[]) => events.map((e) => messageIdFor(e.id, side.endpointId));

  ctx.log(`delivery: ${WARMUP} warm-up events`);
  const warm = Array.from({ length: WARMUP }, storedEvent);
  await addEvents(redis, side.stream, warm);
  await waitDelivered(receiver, idsOf(warm), 60_000);
  const signed = receiver.firstSigned();
  try {
    if (!signed) throw new Error('no signed request');
    new Webhook(side.secret).verify(signed.body, signed.headers);
    if (signed.body.length < body.length * 0.9 || signed.body.length > body.length * 1.1)
      failures.push(`baseline body ${body.length} B vs delivered ${signed.body.length} B`);
  } catch (error) {
    failures.push(`signature check of a delivered webhook: ${error instanceof Error ? error.message : String(error)}`);
  }
  receiver.reset();

  ctx.log(`delivery: ${BURST} events at once`);
  const burst = Array.from({ length: BURST }, storedEvent);
  const burstIds = idsOf(burst);
  const burstCpu0 = processCpuSeconds(worker.pid);
  const { at: burstStart } = await addEvents(redis, side.stream, burst);
  const burstEnd = await waitDelivered(receiver, burstIds, 120_000);
  const burstCpu = processCpuSeconds(worker.pid) - burstCpu0;
  const oursRate = BURST / ((burstEnd - burstStart) / 1000);
  const burstRepeats = receiver.repeats();
  const burstStages = await latencyStages(
    redis,
    side.prefix,
    new Map(burstIds.map((id) => [id, burstStart])),
    receiver.deliveredAt,
  );
  const burstFanOutS = Math.max(...burstStages.fanOut) / 1000;
  receiver.reset();

  ctx.log(`delivery: ${RATE} events/s for ${ctx.durationS} s`);
  const steady = Array.from({ length: RATE * ctx.durationS }, storedEvent);
  const addedAt = new Map<string, number>();
  const steadyStart = now() + 50;
  for (let i = 0; i < steady.length; i++) {
    const event = steady[i] as MediaStoredEvent;
    const at = steadyStart + (i * 1000) / RATE;
    const wait = at - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    addedAt.set(messageIdFor(event.id, side.endpointId), now());
    await redis.xadd(side.stream, '*', 'event', JSON.stringify(event));
  }
  await waitDelivered(receiver, [...addedAt.keys()], 60_000);
  const oursLatency = [...addedAt].map(([id, at]) => (receiver.deliveredAt.get(id) ?? Number.NaN) - at);
  const stages = await latencyStages(redis, side.prefix, addedAt, receiver.deliveredAt);
  receiver.reset();
  await worker.stop();

  // 1 + 2, the baseline.
  ctx.log(`baseline: ${BURST} POSTs at ${CONCURRENCY} connections`);
  const base = { URL: receiver.url, BODY: body, WARMUP: String(WARMUP) };
  const baseBurst = await runBaseline(ctx, { ...base, COUNT: String(BURST) });
  if (receiver.baselineCount() !== WARMUP + BURST || baseBurst.errors > 0)
    failures.push(`baseline burst: ${receiver.baselineCount()} received, ${baseBurst.errors} errors`);
  const baseRate = BURST / (baseBurst.ms / 1000);
  receiver.reset();
  ctx.log(`baseline: ${RATE} POSTs/s for ${ctx.durationS} s`);
  const baseSteady = await runBaseline(ctx, { ...base, RATE: String(RATE), DURATION_S: String(ctx.durationS) });
  const baseLatency = receiver.baselineLatencies;
  if (baseLatency.length !== baseSteady.sent || baseSteady.errors > 0)
    failures.push(`baseline steady: ${baseLatency.length} of ${baseSteady.sent} received, ${baseSteady.errors} errors`);
  receiver.reset();

  // 3. A dead endpoint: nothing listens on its port.
  const deadPort = await freePort();
  const dead = await setUpSide(redis, `http://127.0.0.1:${deadPort}/hooks`);
  const deadWorker = await startDeliveryWorker(ctx, redisServer.url, dead, {
    DELIVERY_BREAKER_COOLDOWN_MS: String(BREAKER_COOLDOWN_MS),
    DELIVERY_TIMEOUT_MS: '2000',
    // Above the default 10,000 per endpoint, which would drop the oldest messages of this run.
    DELIVERY_LOG_MAX_MESSAGES: String(2 * (WARMUP + DEAD_MESSAGES)),
  });
  const queue = new Queue(DELIVERY_QUEUE, { connection: redis, prefix: dead.prefix });
  ctx.defer(() => queue.close());
  const queued = () => queue.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized', 'waiting-children');
  ctx.log(`dead endpoint: ${WARMUP} warm-up messages (the breaker opens)`);
  const warmed = await addEvents(redis, dead.stream, Array.from({ length: WARMUP }, storedEvent));
  await waitFannedOut(redis, dead.stream, warmed.lastId, 60_000);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rssBefore = rssOf(deadWorker.pid);
  const heldBefore = await retainedMemory(deadWorker);
  const redisBefore = await redisUsedMemory(redis);
  ctx.log(`dead endpoint: ${DEAD_MESSAGES} messages, then ${DEAD_OBSERVE_MS / 1000} s of breaker cycles`);
  const sampler = sampleRss(deadWorker.pid);
  const deadStart = now();
  let lastId = '';
  for (let i = 0; i < DEAD_MESSAGES; i += 1000)
    ({ lastId } = await addEvents(
      redis,
      dead.stream,
      Array.from({ length: Math.min(1000, DEAD_MESSAGES - i) }, storedEvent),
    ));
  await waitFannedOut(redis, dead.stream, lastId, 150_000);
  const fannedOutS = (now() - deadStart) / 1000;
  await new Promise((resolve) => setTimeout(resolve, DEAD_OBSERVE_MS));
  const rss = sampler.stop();
  const rssAfter = rssOf(deadWorker.pid);
  const heldAfter = await retainedMemory(deadWorker);
  const redisAfter = await redisUsedMemory(redis);
  const stillQueued = await queued();
  const breaker = await redis.hgetall(deliveryKeys(dead.prefix).breaker(dead.endpointId));
  const deadAttempts = await redis.zcard(deliveryKeys(dead.prefix).endpointAttempts(dead.endpointId));
  await deadWorker.stop();
  if (stillQueued !== WARMUP + DEAD_MESSAGES)
    failures.push(`dead endpoint: ${stillQueued} jobs still queued, expected ${WARMUP + DEAD_MESSAGES}`);

  const rssGrowth = rssAfter - rssBefore;
  const redisPerMessage = (redisAfter - redisBefore) / DEAD_MESSAGES;
  const ratioRate = oursRate / baseRate;
  const oursP99 = percentile(oursLatency, 99);
  const baseP99 = percentile(baseLatency, 99);
  const mib = (n: number) => round1(n / MiB);
  return {
    name: 'webhooks',
    title: `webhook delivery: events stream → fan-out → BullMQ deliveries worker → signed POST, against bare undici POSTs (${CONCURRENCY} at once)`,
    rows: [
      {
        run: `delivery, ${BURST} events at once`,
        'deliveries/s': Math.round(oursRate),
        'worker CPU ms/delivery': round2((burstCpu * 1000) / BURST),
        'duplicates seen': burstRepeats,
        'fan-out events/s': Math.round(BURST / burstFanOutS),
      },
      { run: `bare undici POSTs, ${BURST} at once`, 'deliveries/s': Math.round(baseRate) },
      {
        run: `delivery at ${RATE} events/s`,
        'p50 ms': round1(percentile(oursLatency, 50)),
        'p99 ms': round1(oursP99),
        'max ms': round1(Math.max(...oursLatency)),
      },
      {
        run: `bare undici POSTs at ${RATE}/s`,
        'p50 ms': round1(percentile(baseLatency, 50)),
        'p99 ms': round1(baseP99),
        'max ms': round1(Math.max(...baseLatency)),
      },
      {
        run: `dead endpoint, ${DEAD_MESSAGES.toLocaleString('en-US')} messages queued`,
        'worker RSS before MiB': mib(rssBefore),
        'worker RSS after MiB': mib(rssAfter),
        'worker RSS peak MiB': mib(rss.peak),
        'worker RSS B/message': Math.round(rssGrowth / DEAD_MESSAGES),
        'worker heap after GC before MiB': mib(heldBefore.heapUsed),
        'worker heap after GC after MiB': mib(heldAfter.heapUsed),
        'worker heap B/message': Math.round((heldAfter.heapUsed - heldBefore.heapUsed) / DEAD_MESSAGES),
        'redis used_memory before MiB': mib(redisBefore),
        'redis used_memory after MiB': mib(redisAfter),
        'redis B/message': Math.round(redisPerMessage),
      },
    ],
    ratios: [
      ratio('webhooks: delivery ÷ bare undici POSTs, deliveries/s', round2(ratioRate)),
      ratio(`webhooks: p99 event→delivered at ${RATE}/s (ms)`, round1(oursP99)),
      ratio(`webhooks: delivery p99 ÷ bare POST p99 at ${RATE}/s`, round2(oursP99 / baseP99)),
      ratio(`webhooks: worker RSS growth, ${DEAD_MESSAGES / 1000}k messages to a dead endpoint (MiB)`, mib(rssGrowth)),
      ratio(
        `webhooks: worker heap after GC, growth over ${DEAD_MESSAGES / 1000}k dead-endpoint messages (MiB)`,
        mib(heldAfter.heapUsed - heldBefore.heapUsed),
        HEAP_GROWTH_TARGET_MiB,
        '<=',
      ),
      ratio('webhooks: Redis bytes per queued message', Math.round(redisPerMessage), REDIS_PER_MESSAGE_TARGET, '<='),
    ],
    notes: [
      `Reproduce: \`npm run bench -- webhooks\` (BENCH_DURATION_S sets the seconds of the fixed-rate runs, default 10; BENCH_WEBHOOK_BURST the burst size, default 2000). It starts its own redis-server (testkit), the delivery worker process and the receiver; nothing else is needed.`,
      `Both sides POST to the same receiver (Node \`http\` on 127.0.0.1, answers 204, in the bench process) with ${CONCURRENCY} at once (\`DELIVERY_CONCURRENCY\` and the endpoint's \`max_in_flight\` = ${CONCURRENCY}; the baseline: ${CONCURRENCY} undici connections). The body is the same media.stored webhook body (${body.length} B, two presigned links). The baseline does nothing else: no stream, no queue, no Redis, no signing, no attempt log.`,
      `Per delivered message the delivery side does: XREADGROUP, the message's create script, a BullMQ add, mark enqueued, XACK (fan-out); then the BullMQ fetch, message and endpoint reads, the in-flight/rate gate script, the breaker script, two presignings, the Standard Webhooks HMAC, the POST, the attempt record, the breaker record, the status write, the gate release and BullMQ's completion — about 15 Redis round trips for one HTTP request, which is what the throughput ratio prices (worker CPU ${formatNumber((burstCpu * 1000) / BURST)} ms per delivery in the burst). The fan-out consumer reads up to 50 entries at a time and handles the entries of one read at once (a few round trips each; one endpoint-version GET per event, the list read again only after a change): it had added the burst's last job ${round1(burstFanOutS)} s after the XADDs (${Math.round(BURST / burstFanOutS)} events/s), so in the burst fan-out and attempts run side by side and the slower of the two sets the pace. The delivered-webhook signature was checked with \`Webhook.verify\`; the metadata lookup is \`null\` here (\`startDelivery\` is given no task registry; the worker root gives it the one in Redis).`,
      `All of it runs on the machine in the table above, beside other work (see its load average): the delivery side's extra Redis round trips and processes suffer more from a busy machine than the baseline's single request, so the ratios are the comparable figures, and on a busy machine a pessimistic one.`,
      `Where the delivery side's event→delivered time went at ${RATE}/s (from each message's BullMQ job timestamps, ms resolution), p50 / p99: fan-out (XADD → job added) ${stageText(stages.fanOut)}; queue wait (job added → taken by the worker) ${stageText(stages.wait)}; attempt (taken → request received: reads, gate, breaker, presign, sign, POST) ${stageText(stages.attempt)}.`,
      `Latency: events are added to the stream at their scheduled times (${RATE}/s), and event→delivered is the time from the XADD to the request's arrival at the receiver; the baseline's is from each POST's scheduled send to its arrival. The fan-out consumer blocks in XREADGROUP for at most its default 1 s (an entry is returned as soon as it is added).`,
      `Dead endpoint: nothing listens on its port (connection refused), breaker threshold 5, cooldown ${BREAKER_COOLDOWN_MS / 1000} s, so the ${(WARMUP + DEAD_MESSAGES).toLocaleString('en-US')} jobs wait in the delayed set for the breaker's reopening without spending an attempt (there, one is the half-open probe, the others find it taken and wait again). Fan-out of the ${DEAD_MESSAGES.toLocaleString('en-US')} took ${round1(fannedOutS)} s; RSS was sampled for ${DEAD_OBSERVE_MS / 1000} s more (breaker at the end: ${breaker.state ?? 'closed'}; ${deadAttempts} attempts logged in all, the probes). "Before" is after ${WARMUP} warm-up messages opened the breaker. RSS includes heap the garbage collector has not returned yet (V8 grows its heap under the fan-out's allocation churn and gives it back slowly), so the worker also reports its V8 heap right after a full collection (\`--expose-gc\`, on SIGUSR2): the memory it actually retains, which carries the target. (RSS growth was first given a 16 MiB target; across the runs made while writing this benchmark it grew 4 to 42 MiB while the heap after GC grew under 1 MiB.) Redis bytes per message are the BullMQ job (hash, delayed-set entry) and the message record (hash with the event, index entry); the worker keeps nothing per message.`,
    ],
    failures,
  };
}
