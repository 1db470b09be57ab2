/**
 * End to end: signed success callbacks (video VIDEO_BYTES, cover COVER_BYTES served by the
 * simulator) through a real ingress into 1, 2, 4… real worker processes, timed from the first
 * callback sent to the last media.stored event. Reports tasks/s, MB/s, the scaling factor
 * against one worker and where the CPU went. The S3 server and the media server run in their
 * own processes; on this 2-core machine they compete with the workers for the same cores.
 *
 * Two scenarios:
 * - `local`: media served as fast as the simulator can generate it. Every byte costs CPU on
 *   this machine three times (generate, relay, store), and the single-threaded S3 stand-in
 *   sets the pace from the first worker on (see the notes).
 * - `cdn`: every file throttled to CDN_BYTES_PER_S per connection, as a CDN far away serves
 *   it. A worker is then bound by transfer time, not CPU, so throughput grows with workers
 *   until the S3 stand-in and the cores are the limit again.
 */
import { startRedisServer } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { type BenchContext, type BenchResult, ratio } from './lib/bench-types.js';
import { processCpuSeconds, redisCpuSeconds } from './lib/cpu-usage.js';
import { waitForStreamLength } from './lib/event-count.js';
import { startIngressProcess } from './lib/ingress-process.js';
import { mediaUrl, startBenchServers } from './lib/servers.js';
import { CALLBACK_PATH, signedHeaders, successBody } from './lib/signed-callbacks.js';
import { startWorkerProcesses } from './lib/worker-processes.js';

const VIDEO_BYTES = 2 * 1024 * 1024;
const COVER_BYTES = 100 * 1024;
const SEND_CONCURRENCY = 50;
/** The worker's default: jobs one worker process runs at once. */
const WORKER_CONCURRENCY = 8;
const CDN_BYTES_PER_S = 1024 * 1024;
const MIN_SCALING_2_WORKERS = 1.2;

interface Scenario {
  name: 'local' | 'cdn';
  tasks: number;
  workerCounts: number[];
  /** Simulator behaviour of every media URL (`ok` when absent). */
  behavior?: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'local', tasks: Number(process.env.BENCH_E2E_TASKS ?? 1000), workerCounts: [1, 2, 4] },
  {
    name: 'cdn',
    tasks: Number(process.env.BENCH_E2E_CDN_TASKS ?? 240),
    workerCounts: [1, 2, 4, 8],
    behavior: `slow:${CDN_BYTES_PER_S}`,
  },
];

async function sendAll(url: string, origin: string, tag: string, scenario: Scenario): Promise<number> {
  let next = 0;
  let acked = 0;
  const withBehavior = (u: string) => (scenario.behavior ? `${u}&behavior=${scenario.behavior}` : u);
  const lane = async () => {
    while (next < scenario.tasks) {
      const taskId = `${tag}-${next++}`;
      const res = await fetch(`${url}${CALLBACK_PATH}`, {
        method: 'POST',
        headers: signedHeaders(taskId),
        body: successBody(taskId, {
          video: withBehavior(mediaUrl(origin, taskId, 'video', VIDEO_BYTES)),
          image: withBehavior(mediaUrl(origin, taskId, 'cover', COVER_BYTES)),
        }),
      });
      await res.arrayBuffer();
      if (res.status === 200) acked++;
    }
  };
  await Promise.all(Array.from({ length: SEND_CONCURRENCY }, lane));
  return acked;
}

type Servers = Awaited<ReturnType<typeof startBenchServers>>;

const percentOfCore = (cpuSeconds: number, seconds: number) => `${Math.round((cpuSeconds / seconds) * 100)}%`;

/** Runs one scenario with each worker count; returns tasks/s by worker count. */
async function runScenario(
  ctx: BenchContext,
  redisUrl: string,
  servers: Servers,
  scenario: Scenario,
  out: { rows: BenchResult['rows']; failures: string[] },
): Promise<Map<number, number>> {
  const { s3, media } = servers;
  const perSecond = new Map<number, number>();
  const megabytes = (scenario.tasks * (VIDEO_BYTES + COVER_BYTES)) / 1e6;
  const redis = new Redis(redisUrl);
  try {
    for (const count of scenario.workerCounts) {
      const ingress = await startIngressProcess(ctx, redisUrl);
      const workers = await startWorkerProcesses(ctx, count, {
        redisUrl,
        s3,
        prefix: ingress.prefix,
        env: { WORKER_CONCURRENCY: String(WORKER_CONCURRENCY) },
      });
      ctx.log(`${scenario.name}: ${scenario.tasks} tasks, ${count} worker process(es)`);
      const cpu = async () => ({
        s3: processCpuSeconds(s3.pid),
        media: processCpuSeconds(media.pid),
        workers: workers.reduce((sum, w) => sum + processCpuSeconds(w.pid), 0),
        ingress: processCpuSeconds(ingress.process.pid),
        redis: await redisCpuSeconds(redis),
      });
      const before = await cpu();
      const started = performance.now();
      const acked = await sendAll(ingress.url, media.origin, `${scenario.name}${count}`, scenario);
      const events = await waitForStreamLength(redisUrl, `${ingress.prefix}:events`, scenario.tasks, 600_000);
      const seconds = (performance.now() - started) / 1000;
      const after = await cpu();
      const used = (key: keyof typeof before) => after[key] - before[key];
      const stored = events.filter((e) => e.type === 'media.stored').length;
      const label = `${scenario.name}, ${count} worker(s)`;
      if (acked !== scenario.tasks) out.failures.push(`${label}: ${acked}/${scenario.tasks} callbacks acknowledged`);
      if (stored !== scenario.tasks) out.failures.push(`${label}: ${stored}/${scenario.tasks} media.stored events`);
      perSecond.set(count, scenario.tasks / seconds);
      const measured = Object.keys(before) as Array<keyof typeof before>;
      const coresBusy = measured.reduce((sum, key) => sum + used(key), 0) / seconds;
      out.rows.push({
        scenario: scenario.name,
        workers: count,
        tasks: scenario.tasks,
        'seconds to all stored': Number(seconds.toFixed(1)),
        'tasks/s': Number((scenario.tasks / seconds).toFixed(1)),
        'MB/s into the bucket': Number((megabytes / seconds).toFixed(1)),
        'scaling vs 1 worker': Number(
          (scenario.tasks / seconds / (perSecond.get(1) ?? scenario.tasks / seconds)).toFixed(2),
        ),
        'CPU: S3 server': percentOfCore(used('s3'), seconds),
        'CPU: media server': percentOfCore(used('media'), seconds),
        'CPU: all workers': percentOfCore(used('workers'), seconds),
        'CPU: ingress + redis': percentOfCore(used('ingress') + used('redis'), seconds),
        'cores busy (of 2)': Number(coresBusy.toFixed(2)),
        'S3 server CPU ms/MB': Math.round((used('s3') / megabytes) * 1000),
        'workers CPU ms/MB': Math.round((used('workers') / megabytes) * 1000),
      });
      for (const worker of workers) await worker.stop();
      await ingress.stop();
    }
  } finally {
    redis.disconnect();
  }
  return perSecond;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const redisServer = await startRedisServer();
  ctx.defer(() => redisServer.dispose());
  const servers = await startBenchServers(ctx);
  const out = { rows: [] as BenchResult['rows'], failures: [] as string[] };
  const rates = new Map<Scenario['name'], Map<number, number>>();
  for (const scenario of SCENARIOS)
    rates.set(scenario.name, await runScenario(ctx, redisServer.url, servers, scenario, out));
  const scaling = (name: Scenario['name'], workers: number) => {
    const byCount = rates.get(name);
    return Number(((byCount?.get(workers) ?? 0) / (byCount?.get(1) ?? 1)).toFixed(2));
  };
  const cdnRate = `${CDN_BYTES_PER_S / 1024 / 1024} MiB/s`;
  return {
    name: 'end-to-end',
    title: `callbacks → objects (video 2 MiB + cover 100 KiB) with 1 to ${Math.max(...SCENARIOS.flatMap((s) => s.workerCounts))} worker processes, media local and CDN-throttled`,
    rows: out.rows,
    ratios: [
      ratio(`e2e cdn (${cdnRate}/connection): 2 workers / 1 (tasks/s)`, scaling('cdn', 2), MIN_SCALING_2_WORKERS),
      ratio(`e2e cdn: 4 workers / 1 (tasks/s)`, scaling('cdn', 4)),
      ratio(`e2e cdn: 8 workers / 1 (tasks/s)`, scaling('cdn', 8)),
      ratio('e2e local (store-bound at 1 worker): 2 workers / 1 (tasks/s)', scaling('local', 2)),
      ratio('e2e local: 4 workers / 1 (tasks/s)', scaling('local', 4)),
    ],
    notes: [
      `Each worker process runs WORKER_CONCURRENCY=${WORKER_CONCURRENCY} jobs at once. Redis, the S3 server (s3rver, which hashes and writes every object to disk), the media simulator, the ingress and the workers all share the same 2 cores; the CPU columns (CPU seconds per wall second of each process, 100% = one core) show where they went, and "cores busy" adds them up.`,
      'local: the media simulator generates every byte as fast as it is read, and every byte then costs CPU three times on this one machine (generated; relayed and hashed by a worker; hashed and written by the S3 server). The S3 stand-in, s3rver, is single-threaded Node: it can use one core at most, and its CPU per MB stored grows with the number of concurrent uploads (column "S3 server CPU ms/MB"), so on this machine more worker processes make the whole slower, not faster. Here the store stand-in sets the pace, not the relay; MinIO on its own host, as in production, is not this server.',
      `cdn: every file is served at ${cdnRate} per connection (simulator behaviour \`slow:${CDN_BYTES_PER_S}\`), as a CDN far away serves one stream: a 2 MiB video takes about two seconds, during which a job slot waits, not computes. One worker process is bound by its ${WORKER_CONCURRENCY} slots (at most about ${WORKER_CONCURRENCY / 2} tasks/s), so throughput grows with worker processes until the S3 server's one core (and the machine's two) fill up again: compare "CPU: S3 server" and "cores busy". Raising WORKER_CONCURRENCY is the other way to fill a latency-bound worker; more processes also spread the CPU over cores and hosts.`,
      'A fixed cost of every worker process shows in "workers CPU ms/MB": BullMQ\'s polling and lock renewals, metrics and a cold JIT per process, which more, less busy processes pay more often per MB.',
    ],
    failures: out.failures,
  };
}
