/**
 * A storm of redeliveries: 10,000 signed deliveries of 1,000 tasks (10 each), 100 in flight,
 * interleaved so the copies of a task race each other. Exactly 1,000 jobs and 1,000
 * `received` answers must come out (docs/architecture.md §4); the figure reported is deliveries per second.
 */
import { DEFAULT_QUEUE_NAME } from '@runway-relay/contracts';
import { seededRandom, startRedisServer } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { type BenchContext, type BenchResult, ratio } from './lib/bench-types.js';
import { ownCpuSeconds, processCpuSeconds, redisCpuSeconds, startCpuMeter } from './lib/cpu-usage.js';
import { startIngressProcess } from './lib/ingress-process.js';
import { runLoad } from './lib/load.js';
import { CALLBACK_PATH, failureBody, freshTasks, signedHeaders, successBody } from './lib/signed-callbacks.js';

const TASKS = 1000;
const COPIES = 10;
const IN_FLIGHT = 100;
/** One in ten tasks is a provider failure (a failure job), the rest successes. */
const FAILURE_EVERY = 10;
const SEED = 0x5707;

interface Delivery {
  taskId: string;
  failure: boolean;
}

/**
 * Windows of IN_FLIGHT deliveries, each holding all copies of IN_FLIGHT / COPIES tasks in
 * shuffled order: the copies of a task are in flight together, as when a provider's retry
 * overlaps a slow answer.
 */
function deliveryOrder(tag: string): Delivery[] {
  const random = seededRandom(SEED);
  const tasksPerWindow = IN_FLIGHT / COPIES;
  const order: Delivery[] = [];
  for (let first = 0; first < TASKS; first += tasksPerWindow) {
    const window: Delivery[] = [];
    for (let t = first; t < Math.min(first + tasksPerWindow, TASKS); t++) {
      const delivery = { taskId: `${tag}-${t}`, failure: t % FAILURE_EVERY === 0 };
      for (let c = 0; c < COPIES; c++) window.push(delivery);
    }
    for (let i = window.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [window[i], window[j]] = [window[j] as Delivery, window[i] as Delivery];
    }
    order.push(...window);
  }
  return order;
}

/**
 * Deliveries that found their task claimed but its job not yet written (the `ensure` path:
 * claim, then an `add` BullMQ ignores). BullMQ records each ignored add as a `duplicated`
 * event; the events stream keeps at least the last 10,000, enough for one storm.
 */
async function ensureReAdds(redis: Redis, prefix: string, tag: string): Promise<number> {
  const entries = await redis.xrange(`${prefix}:${DEFAULT_QUEUE_NAME}:events`, '-', '+');
  return entries.filter(([, fields]) => fields[1] === 'duplicated' && fields[3]?.startsWith(tag)).length;
}

/** Runs the benchmark (see the module comment). */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const redisServer = await startRedisServer();
  ctx.defer(() => redisServer.dispose());
  const redis = new Redis(redisServer.url);
  ctx.defer(() => void redis.disconnect());
  const ingress = await startIngressProcess(ctx, redisServer.url);
  const base = { url: ingress.url, path: CALLBACK_PATH, connections: IN_FLIGHT };
  await runLoad({ ...base, amount: 5000, next: freshTasks('storm-warmup') });
  const jobsBefore = await ingress.jobCount();
  const countersBefore = await ingress.counters();

  ctx.log(`${TASKS * COPIES} deliveries of ${TASKS} tasks, ${IN_FLIGHT} in flight`);
  const tag = `storm-${Date.now().toString(36)}`;
  const order = deliveryOrder(tag);
  let next = 0;
  const received = new Map<string, number>();
  let duplicates = 0;
  let unexpected = 0;
  const cpu = await startCpuMeter({
    server: () => processCpuSeconds(ingress.process.pid),
    redis: () => redisCpuSeconds(redis),
    loadgen: ownCpuSeconds,
  });
  const load = await runLoad({
    ...base,
    amount: order.length,
    next: () => {
      const delivery = order[next++ % order.length] as Delivery;
      const body = delivery.failure ? failureBody(delivery.taskId) : successBody(delivery.taskId);
      return { body, headers: signedHeaders(delivery.taskId) };
    },
    onResponse: (status, text) => {
      const answer = status === 200 ? (JSON.parse(text) as { status?: string; task_id?: string }) : {};
      if (answer.status === 'received' && answer.task_id)
        received.set(answer.task_id, (received.get(answer.task_id) ?? 0) + 1);
      else if (answer.status === 'duplicate') duplicates++;
      else unexpected++;
    },
  });
  const used = await cpu();
  const jobs = (await ingress.jobCount()) - jobsBefore;
  const reAdds = await ensureReAdds(redis, ingress.prefix, tag);
  const counters = await ingress.counters();
  await ingress.stop();

  const receivedTotal = [...received.values()].reduce((sum, n) => sum + n, 0);
  const failures: string[] = [];
  if (jobs !== TASKS) failures.push(`${jobs} jobs for ${TASKS} tasks`);
  if (receivedTotal !== TASKS || received.size !== TASKS) {
    failures.push(`${receivedTotal} "received" answers over ${received.size} tasks (expected ${TASKS} over ${TASKS})`);
  }
  if (unexpected > 0 || load.errors + load.timeouts > 0) {
    failures.push(
      `${unexpected} answers other than 200, ${load.errors + load.timeouts} errors (${JSON.stringify(load.byStatus)})`,
    );
  }
  const deliveriesPerS = Math.round(load.completed / load.durationS);
  return {
    name: 'duplicate-storm',
    title: `${(TASKS * COPIES).toLocaleString('en-US')} deliveries of ${TASKS.toLocaleString('en-US')} tasks, ${IN_FLIGHT} in flight`,
    rows: [
      {
        deliveries: load.completed,
        tasks: TASKS,
        'in flight': IN_FLIGHT,
        seconds: Math.round(load.durationS * 100) / 100,
        'deliveries/s': deliveriesPerS,
        'p50 ms': load.p50,
        'p99 ms': load.p99,
        received: receivedTotal,
        duplicate: duplicates,
        'of which ensure': reAdds,
        jobs,
        'other answers': unexpected,
        'server CPU µs/delivery': Math.round(((used.server ?? Number.NaN) / load.completed) * 1e6),
        'redis CPU µs/delivery': Math.round(((used.redis ?? Number.NaN) / load.completed) * 1e6),
        'CPU-s load gen': Math.round((used.loadgen ?? Number.NaN) * 10) / 10,
      },
    ],
    ratios: [ratio('jobs ÷ tasks', jobs / TASKS, 1, '='), ratio('"received" ÷ tasks', receivedTotal / TASKS, 1, '=')],
    notes: [
      `Each task's ${COPIES} identical deliveries are shuffled into the same window of ${IN_FLIGHT}, so they are in flight together and race through the claim script; ${100 / FAILURE_EVERY}% of the tasks are provider failures. Every delivery carries a fresh signature. A warm-up of 5,000 new tasks runs first (excluded from the counts).`,
      `${reAdds.toLocaleString('en-US')} of the ${duplicates.toLocaleString('en-US')} duplicates came while their task's job was still being written and took the \`ensure\` path (claim, then an add BullMQ ignores: two round trips, like a new callback); the other ${(duplicates - reAdds).toLocaleString('en-US')} cost the claim script only.`,
      `The ingress's own counters agree: ${counters.received - countersBefore.received} received, ${counters.duplicates - countersBefore.duplicates} duplicates.`,
    ],
    failures,
  };
}
