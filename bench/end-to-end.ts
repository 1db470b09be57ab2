/**
 * End to end: TASKS signed success callbacks (video VIDEO_BYTES, cover COVER_BYTES served by
 * the simulator) through a real ingress into 1, 2 and 4 real worker processes, timed from
 * the first callback sent to the last media.stored event. Reports tasks/s, MB/s and the
 * scaling factor against one worker. The S3 server and the media server run in their own
 * processes; on this 2-core machine they compete with the workers for the same cores.
 */
import { startRedisServer } from '@runway-relay/testkit';
import { type BenchContext, type BenchResult, ratio } from './lib/bench-types.js';
import { processCpuSeconds } from './lib/cpu-usage.js';
import { waitForStreamLength } from './lib/event-count.js';
import { startIngressProcess } from './lib/ingress-process.js';
import { mediaUrl, startBenchServers } from './lib/servers.js';
import { CALLBACK_PATH, signedHeaders, successBody } from './lib/signed-callbacks.js';
import { startWorkerProcesses } from './lib/worker-processes.js';

const TASKS = Number(process.env.BENCH_E2E_TASKS ?? 1000);
const VIDEO_BYTES = 2 * 1024 * 1024;
const COVER_BYTES = 100 * 1024;
const WORKER_COUNTS = [1, 2, 4];
const SEND_CONCURRENCY = 50;

async function sendAll(url: string, origin: string, tag: string): Promise<number> {
  let next = 0;
  let acked = 0;
  const lane = async () => {
    while (next < TASKS) {
      const taskId = `${tag}-${next++}`;
      const res = await fetch(`${url}${CALLBACK_PATH}`, {
        method: 'POST',
        headers: signedHeaders(taskId),
        body: successBody(taskId, {
          video: mediaUrl(origin, taskId, 'video', VIDEO_BYTES),
          image: mediaUrl(origin, taskId, 'cover', COVER_BYTES),
        }),
      });
      await res.arrayBuffer();
      if (res.status === 200) acked++;
    }
  };
  await Promise.all(Array.from({ length: SEND_CONCURRENCY }, lane));
  return acked;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const redisServer = await startRedisServer();
  ctx.defer(() => redisServer.dispose());
  const { s3, media } = await startBenchServers(ctx);
  const rows: BenchResult['rows'] = [];
  const failures: string[] = [];
  const perSecond = new Map<number, number>();
  const megabytes = (TASKS * (VIDEO_BYTES + COVER_BYTES)) / 1e6;

  for (const count of WORKER_COUNTS) {
    const ingress = await startIngressProcess(ctx, redisServer.url);
    const workers = await startWorkerProcesses(ctx, count, { redisUrl: redisServer.url, s3, prefix: ingress.prefix });
    ctx.log(`${TASKS} tasks, ${count} worker process(es)`);
    const cpu = () => ({
      s3: processCpuSeconds(s3.pid),
      media: processCpuSeconds(media.pid),
      workers: workers.reduce((sum, w) => sum + processCpuSeconds(w.pid), 0),
    });
    const cpuBefore = cpu();
    const started = performance.now();
    const acked = await sendAll(ingress.url, media.origin, `e2e${count}`);
    const events = await waitForStreamLength(redisServer.url, `${ingress.prefix}:events`, TASKS, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = cpu();
    const busy = (key: keyof typeof cpuBefore) => `${Math.round(((cpuAfter[key] - cpuBefore[key]) / seconds) * 100)}%`;
    const stored = events.filter((e) => e.type === 'media.stored').length;
    if (acked !== TASKS) failures.push(`${count} worker(s): ${acked}/${TASKS} callbacks acknowledged`);
    if (stored !== TASKS) failures.push(`${count} worker(s): ${stored}/${TASKS} media.stored events`);
    perSecond.set(count, TASKS / seconds);
    rows.push({
      workers: count,
      tasks: TASKS,
      'seconds to all stored': Number(seconds.toFixed(1)),
      'tasks/s': Number((TASKS / seconds).toFixed(1)),
      'MB/s into the bucket': Number((megabytes / seconds).toFixed(1)),
      'scaling vs 1 worker': Number((TASKS / seconds / (perSecond.get(1) ?? TASKS / seconds)).toFixed(2)),
      'CPU: S3 server': busy('s3'),
      'CPU: media server': busy('media'),
      'CPU: all workers': busy('workers'),
    });
    for (const worker of workers) await worker.stop();
    await ingress.stop();
  }
  const one = perSecond.get(1) ?? 1;
  return {
    name: 'end-to-end',
    title: `${TASKS} callbacks → ${TASKS * 2} objects (video 2 MiB + cover 100 KiB) with 1, 2 and 4 worker processes`,
    rows,
    ratios: [
      ratio('e2e: 2 workers / 1 worker (tasks/s)', (perSecond.get(2) ?? 0) / one, 1.2),
      ratio('e2e: 4 workers / 1 worker (tasks/s)', (perSecond.get(4) ?? 0) / one),
    ],
    notes: [
      'Each worker process runs WORKER_CONCURRENCY=8 jobs at once. Redis, the S3 server (s3rver, which hashes and writes every object to disk), the media simulator, the ingress and the workers all share the same 2 cores; the CPU columns (CPU seconds per wall second of each process, 100% = one core) show where they went.',
      'Reading of the 2026-11-25 run: with ONE worker process the S3 server (~60-70% of a core), the workers (~70%), the media generator (~20%), Redis and the ingress already fill the 2 cores, so more worker processes cannot go faster on this machine; the relay scales out where the store and the sources are elsewhere.',
    ],
    failures,
  };
}
