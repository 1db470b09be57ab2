/**
 * Recovery after an ingress outage (docs/reconciliation.md): N tasks whose callbacks were all
 * lost, recovered by the relay's reconciler against the naive way, polling every open task
 * every 30 s. Both run on one virtual clock (production seconds; each pass is real work: real
 * Redis, the real registry and reconcile pass, the provider client over HTTP to the simulator's
 * record-detail API), so time is compressed equally for both. Reported: recovery time (outage
 * end → the last task handed to the pipeline; its download then takes the same for both) and
 * provider calls per recovered task.
 */
import { createTaskRegistry } from '@runway-relay/admission';
import { relayKeys } from '@runway-relay/contracts';
import { createProviderClient, createRedisRateLimiter, type ProviderClient } from '@runway-relay/provider-client';
import { type MediaServer, startMediaServer } from '@runway-relay/simulator';
import { seededRandom, startRedisServer } from '@runway-relay/testkit';
import { reconcilePass } from '@runway-relay/worker';
import { Redis } from 'ioredis';
import { type BenchContext, type BenchResult, ratio } from './lib/bench-types.js';

const TASKS = 500;
/** Tasks are submitted over the first 10 minutes, as a batch job would. */
const SUBMIT_SPAN_S = 600;
/** Generation takes 1 to 6 minutes. */
const GENERATION_S: [number, number] = [60, 360];
const FAILURE_EVERY = 10;
/**
 * Ingress outages from t=0, each longer than any task's generation plus the provider's callback
 * retries: every callback is lost. The pollers do not depend on the outage's length (they
 * never see the ingress), so one run of each gives the figures for both lengths.
 */
const OUTAGES_S = [1200, 2700];
/** The production defaults (RECONCILE_*), and the cadence of both pollers. */
const POLICY = { afterS: 1500, intervalS: 300, maxIntervalS: 3600, maxAgeS: 259_200 };
const PASS_S = 30;
const NAIVE_EVERY_S = 30;
const SEED = 0x12ec;

interface PlannedTask {
  id: string;
  submittedS: number;
  finishedS: number;
  fails: boolean;
}

function plan(tag: string): PlannedTask[] {
  const random = seededRandom(SEED);
  return Array.from({ length: TASKS }, (_, i) => {
    const submittedS = Math.floor(random() * SUBMIT_SPAN_S);
    const finishedS = submittedS + GENERATION_S[0] + Math.floor(random() * (GENERATION_S[1] - GENERATION_S[0]));
    return { id: `${tag}-${i}`, submittedS, finishedS, fails: i % FAILURE_EVERY === 0 };
  });
}

/** Moves the simulator's tasks to where the virtual clock says they are. */
function advance(sim: MediaServer, tasks: PlannedTask[], nowS: number): void {
  for (const task of tasks) {
    if (task.submittedS > nowS) continue;
    const known = sim.tasks.get(task.id);
    if (task.finishedS <= nowS && known?.state !== 'success' && known?.state !== 'fail') {
      sim.tasks.put(
        task.fails
          ? { taskId: task.id, state: 'fail', failCode: 500, failMsg: 'Internal Error, Please try again later.' }
          : {
              taskId: task.id,
              state: 'success',
              videoId: `v-${task.id}`,
              videoUrl: sim.url(task.id, 'video'),
              imageUrl: sim.url(task.id, 'cover'),
            },
      );
    } else if (!known) {
      sim.tasks.put({ taskId: task.id, state: 'generating' });
    }
  }
}

interface Outcome {
  /** Virtual second each task was recovered (handed to the pipeline or failed). */
  recoveredAt: Map<string, number>;
  polls: number;
  realMs: number;
}

function horizon(tasks: PlannedTask[]): number {
  return Math.max(...tasks.map((t) => t.submittedS)) + POLICY.afterS + POLICY.maxIntervalS * 2;
}

async function runRelay(sim: MediaServer, client: ProviderClient, redis: Redis, prefix: string): Promise<Outcome> {
  const tasks = plan(`${prefix}-relay`);
  const registry = createTaskRegistry({
    redis,
    keys: relayKeys(prefix, 'runway-callbacks'),
    afterS: POLICY.afterS,
    ttlSeconds: 86_400 * 7,
  });
  const recoveredAt = new Map<string, number>();
  const before = sim.api.counts().record_detail ?? 0;
  const started = performance.now();
  const base = Date.now();
  for (let nowS = 0; recoveredAt.size < TASKS && nowS <= horizon(tasks); nowS += PASS_S) {
    advance(sim, tasks, nowS);
    for (const task of tasks) {
      if (task.submittedS > nowS - PASS_S && task.submittedS <= nowS) {
        await registry.register(task.id, {}, base + task.submittedS * 1000);
      }
    }
    await reconcilePass({
      registry,
      client,
      now: base + nowS * 1000,
      policy: POLICY,
      maxTasks: TASKS,
      concurrency: 8,
      enqueue: async (job) => void recoveredAt.set(job.callback.task_id, nowS),
      emitFailed: async (failure) => void recoveredAt.set(failure.taskId, nowS),
    });
  }
  return { recoveredAt, polls: (sim.api.counts().record_detail ?? 0) - before, realMs: performance.now() - started };
}

async function runNaive(sim: MediaServer, client: ProviderClient, prefix: string): Promise<Outcome> {
  const tasks = plan(`${prefix}-naive`);
  const recoveredAt = new Map<string, number>();
  const before = sim.api.counts().record_detail ?? 0;
  const started = performance.now();
  for (let nowS = 0; recoveredAt.size < TASKS && nowS <= horizon(tasks); nowS += NAIVE_EVERY_S) {
    advance(sim, tasks, nowS);
    const open = tasks.filter((t) => t.submittedS <= nowS && !recoveredAt.has(t.id));
    for (let i = 0; i < open.length; i += 8) {
      await Promise.all(
        open.slice(i, i + 8).map(async (task) => {
          const detail = await client.taskDetail(task.id);
          if (detail.state === 'success' || detail.state === 'fail') recoveredAt.set(task.id, nowS);
        }),
      );
    }
  }
  return { recoveredAt, polls: (sim.api.counts().record_detail ?? 0) - before, realMs: performance.now() - started };
}

function summary(outcome: Outcome, outageS: number) {
  const after = [...outcome.recoveredAt.values()].map((s) => Math.max(0, s - outageS));
  return {
    recovered: outcome.recoveredAt.size,
    recoveryS: Math.max(...after),
    meanAfterOutageS: after.reduce((a, b) => a + b, 0) / after.length,
    pollsPerTask: outcome.polls / Math.max(1, outcome.recoveredAt.size),
  };
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const redisServer = await startRedisServer();
  ctx.defer(() => redisServer.dispose());
  const apiKey = 'sk-bench-recovery';
  const sim = await startMediaServer({ apiKey });
  ctx.defer(() => sim.close());
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  ctx.defer(() => void redis.disconnect());
  const prefix = `bench${Date.now().toString(36)}`;
  // One limiter for both, generous: the bench measures the polling schedule, not the limiter.
  const limiter = createRedisRateLimiter({
    redis,
    key: relayKeys(prefix, 'q').providerRate,
    ratePerSecond: 5000,
    burst: 500,
  });
  const client = createProviderClient({ baseUrl: sim.origin, apiKey, limiter, retries: 0 });

  ctx.log(`relay reconciler: ${TASKS} tasks`);
  const relayRun = await runRelay(sim, client, redis, prefix);
  ctx.log(`naive poller: every open task every ${NAIVE_EVERY_S} s`);
  const naiveRun = await runNaive(sim, client, prefix);
  const [short = 0, long = 0] = OUTAGES_S;
  const relay = summary(relayRun, short);
  const naive = summary(naiveRun, short);
  const relayLong = summary(relayRun, long);
  const naiveLong = summary(naiveRun, long);

  const failures: string[] = [];
  if (relay.recovered !== TASKS) failures.push(`relay recovered ${relay.recovered} of ${TASKS}`);
  if (naive.recovered !== TASKS) failures.push(`naive recovered ${naive.recovered} of ${TASKS}`);
  const row = (approach: string, outageS: number, s: ReturnType<typeof summary>) => ({
    approach,
    'outage (min)': outageS / 60,
    'tasks recovered': s.recovered,
    'recovery after outage end (s)': s.recoveryS,
    'mean wait after outage end (s)': Math.round(s.meanAfterOutageS),
    'polls per recovered task': Number(s.pollsPerTask.toFixed(2)),
  });
  return {
    name: 'reconcile-recovery',
    title: `Recovery of ${TASKS} tasks whose callbacks were lost in an ingress outage: reconciler (RECONCILE_* defaults) vs polling every open task every ${NAIVE_EVERY_S} s (virtual clock, production seconds)`,
    rows: [
      row('relay reconciler', short, relay),
      row(`naive, every ${NAIVE_EVERY_S} s`, short, naive),
      row('relay reconciler', long, relayLong),
      row(`naive, every ${NAIVE_EVERY_S} s`, long, naiveLong),
    ],
    ratios: [
      ratio('provider polls per recovered task, naive / relay', naive.pollsPerTask / relay.pollsPerTask),
      ratio(`recovery after a ${short / 60} min outage, relay − naive (min)`, (relay.recoveryS - naive.recoveryS) / 60),
      ratio(
        `recovery after a ${long / 60} min outage, relay − naive (min)`,
        (relayLong.recoveryS - naiveLong.recoveryS) / 60,
      ),
    ],
    notes: [
      `Tasks submitted over ${SUBMIT_SPAN_S / 60} min, generation ${GENERATION_S[0] / 60}–${GENERATION_S[1] / 60} min, one in ${FAILURE_EVERY} fails; the ingress is down from t=0 for ${short / 60} or ${long / 60} min, so every callback is lost and every task is recovered by polling. Real work per pass (Redis, registry, reconcile pass, provider client over HTTP): relay ${Math.round(relayRun.realMs)} ms, naive ${Math.round(naiveRun.realMs)} ms in all.`,
      `The relay polls a task first ${POLICY.afterS} s after registration (RECONCILE_AFTER_S), then after ${POLICY.intervalS} s doubling up to ${POLICY.maxIntervalS} s; a pass every ${PASS_S} s. The naive poller asks about every open task every ${NAIVE_EVERY_S} s from submission.`,
      'Recovery time ends when the task is handed to the pipeline (job queued or task.failed written); the download that follows costs the same for both (see end-to-end).',
      'The trade: the relay waits for the callback first (RECONCILE_AFTER_S) and so recovers later after an outage, in exchange for one poll per task instead of one per 30 s of generation. Lower RECONCILE_AFTER_S to recover sooner; each poll it adds costs one provider call per open task.',
    ],
    ...(failures.length > 0 ? { failures } : {}),
  };
}
