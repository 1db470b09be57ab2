/**
 * Recovery after an ingress outage (docs/reconciliation.md): N tasks whose callbacks were all
 * lost, recovered by the relay's reconciler against the naive way, polling every open task
 * every 30 s. Both run on one virtual clock (production seconds; each pass is real work: real
 * Redis, the real registry and reconcile pass, the provider client over HTTP to the simulator's
 * record-detail API), so time is compressed equally for both, and both hand what they find to
 * the same real pipeline (bench/lib/recovery-pipeline.ts: the poll admitted as a job, a worker
 * process storing the media into an S3 server process). Reported: recovery time, outage end →
 * the last recovered task's outcome event (`media.stored`; `task.failed` for the tasks the
 * provider failed) on the events stream, and provider calls per recovered task.
 */
import { createTaskRegistry } from '@runway-relay/admission';
import { DEFAULT_QUEUE_NAME, relayKeys } from '@runway-relay/contracts';
import { createProviderClient, createRedisRateLimiter, type ProviderClient } from '@runway-relay/provider-client';
import { type MediaServer, startMediaServer } from '@runway-relay/simulator';
import { seededRandom, startRedisServer } from '@runway-relay/testkit';
import { jobFromPoll, providerFailure, reconcilePass } from '@runway-relay/worker';
import { Redis } from 'ioredis';
import { type BenchContext, type BenchResult, ratio } from './lib/bench-types.js';
import { type RecoveryPipeline, type Settled, startRecoveryPipeline } from './lib/recovery-pipeline.js';

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
  /** Where each task's recovery ended (hand-off and outcome event, virtual seconds). */
  settled: Map<string, Settled>;
  polls: number;
  realMs: number;
}

function horizon(tasks: PlannedTask[]): number {
  return Math.max(...tasks.map((t) => t.submittedS)) + POLICY.afterS + POLICY.maxIntervalS * 2;
}

/** The pipeline's settled tasks of one run (its task ids carry the run's tag). */
function settledOf(pipeline: RecoveryPipeline, tasks: PlannedTask[]): Map<string, Settled> {
  const mine = new Map<string, Settled>();
  for (const task of tasks) {
    const settled = pipeline.settled.get(task.id);
    if (settled) mine.set(task.id, settled);
  }
  return mine;
}

async function runRelay(
  sim: MediaServer,
  client: ProviderClient,
  redis: Redis,
  prefix: string,
  pipeline: RecoveryPipeline,
): Promise<Outcome> {
  const tasks = plan(`${prefix}-relay`);
  const registry = createTaskRegistry({
    redis,
    keys: relayKeys(prefix, DEFAULT_QUEUE_NAME),
    afterS: POLICY.afterS,
    ttlSeconds: 86_400 * 7,
  });
  const handedOff = new Set<string>();
  const before = sim.api.counts().record_detail ?? 0;
  const started = performance.now();
  const base = Date.now();
  for (let nowS = 0; handedOff.size < TASKS && nowS <= horizon(tasks); nowS += PASS_S) {
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
      enqueue: async (job) => {
        handedOff.add(job.callback.task_id);
        await pipeline.enqueue(job, nowS);
      },
      emitFailed: async (failure) => {
        handedOff.add(failure.taskId);
        await pipeline.fail(failure, nowS);
      },
    });
    await pipeline.drain();
  }
  const polls = (sim.api.counts().record_detail ?? 0) - before;
  return { settled: settledOf(pipeline, tasks), polls, realMs: performance.now() - started };
}

async function runNaive(
  sim: MediaServer,
  client: ProviderClient,
  pipeline: RecoveryPipeline,
  prefix: string,
): Promise<Outcome> {
  const tasks = plan(`${prefix}-naive`);
  const handedOff = new Set<string>();
  const before = sim.api.counts().record_detail ?? 0;
  const started = performance.now();
  const base = Date.now();
  /** Polls of each task so far: the attempts of its task.failed, as the reconciler reports them. */
  const pollsOf = new Map<string, number>();
  for (let nowS = 0; handedOff.size < TASKS && nowS <= horizon(tasks); nowS += NAIVE_EVERY_S) {
    advance(sim, tasks, nowS);
    const open = tasks.filter((t) => t.submittedS <= nowS && !handedOff.has(t.id));
    for (let i = 0; i < open.length; i += 8) {
      await Promise.all(
        open.slice(i, i + 8).map(async (task) => {
          const detail = await client.taskDetail(task.id);
          pollsOf.set(task.id, (pollsOf.get(task.id) ?? 0) + 1);
          // What it finds goes where the reconciler's finds go: the same job, the same failure sink.
          if (detail.state === 'success') {
            handedOff.add(task.id);
            await pipeline.enqueue(jobFromPoll(detail, base + nowS * 1000), nowS);
          } else if (detail.state === 'fail') {
            handedOff.add(task.id);
            await pipeline.fail(providerFailure(detail, pollsOf.get(task.id) ?? 1), nowS);
          }
        }),
      );
    }
    await pipeline.drain();
  }
  const polls = (sim.api.counts().record_detail ?? 0) - before;
  return { settled: settledOf(pipeline, tasks), polls, realMs: performance.now() - started };
}

/** Seconds after the outage's end, never negative (recovered during the outage: 0). */
const afterOutage = (seconds: number[], outageS: number) => seconds.map((s) => Math.max(0, s - outageS));
const max = (values: number[]) => (values.length > 0 ? Math.max(...values) : 0);
const mean = (values: number[]) => (values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : 0);

function summary(outcome: Outcome, outageS: number) {
  const settled = [...outcome.settled.values()];
  const outcomes = afterOutage(
    settled.map((s) => s.outcomeS),
    outageS,
  );
  const pipelineS = settled.filter((s) => s.type === 'media.stored').map((s) => s.outcomeS - s.handedOffS);
  return {
    recovered: settled.length,
    stored: settled.filter((s) => s.type === 'media.stored').length,
    handedOffS: max(
      afterOutage(
        settled.map((s) => s.handedOffS),
        outageS,
      ),
    ),
    recoveryS: max(outcomes),
    meanAfterOutageS: mean(outcomes),
    pipelineMaxS: max(pipelineS),
    pollsPerTask: outcome.polls / Math.max(1, settled.length),
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
  ctx.log('pipeline: S3 server and one worker process');
  const pipeline = await startRecoveryPipeline(ctx, { redis, redisUrl: redisServer.url, prefix });

  ctx.log(`relay reconciler: ${TASKS} tasks`);
  const relayRun = await runRelay(sim, client, redis, prefix, pipeline);
  ctx.log(`naive poller: every open task every ${NAIVE_EVERY_S} s`);
  const naiveRun = await runNaive(sim, client, pipeline, prefix);
  const [short = 0, long = 0] = OUTAGES_S;
  const relay = summary(relayRun, short);
  const naive = summary(naiveRun, short);
  const relayLong = summary(relayRun, long);
  const naiveLong = summary(naiveRun, long);

  const failures: string[] = [...pipeline.problems];
  const successes = TASKS - Math.ceil(TASKS / FAILURE_EVERY);
  for (const [name, s] of [
    ['relay', relay],
    ['naive', naive],
  ] as const) {
    if (s.recovered !== TASKS) failures.push(`${name}: ${s.recovered} of ${TASKS} tasks reached an outcome event`);
    if (s.stored !== successes) failures.push(`${name}: ${s.stored} media.stored events, expected ${successes}`);
  }
  const row = (approach: string, outageS: number, s: ReturnType<typeof summary>) => ({
    approach,
    'outage (min)': outageS / 60,
    'tasks recovered': s.recovered,
    'last hand-off after outage end (s)': Math.round(s.handedOffS),
    'last outcome event after outage end (s)': Math.round(s.recoveryS),
    'mean wait for the outcome event after outage end (s)': Math.round(s.meanAfterOutageS),
    'hand-off → media.stored, max (s)': Number(s.pipelineMaxS.toFixed(1)),
    'polls per recovered task': Number(s.pollsPerTask.toFixed(2)),
  });
  return {
    name: 'reconcile-recovery',
    title: `Recovery of ${TASKS} tasks whose callbacks were lost in an ingress outage, until media.stored: reconciler (RECONCILE_* defaults) vs polling every open task every ${NAIVE_EVERY_S} s (virtual clock, production seconds)`,
    rows: [
      row('relay reconciler', short, relay),
      row(`naive, every ${NAIVE_EVERY_S} s`, short, naive),
      row('relay reconciler', long, relayLong),
      row(`naive, every ${NAIVE_EVERY_S} s`, long, naiveLong),
    ],
    ratios: [
      ratio('provider polls per recovered task, naive / relay', naive.pollsPerTask / relay.pollsPerTask),
      ratio(
        `recovery to media.stored after a ${short / 60} min outage, relay − naive (min)`,
        Number(((relay.recoveryS - naive.recoveryS) / 60).toFixed(2)),
      ),
      ratio(
        `recovery to media.stored after a ${long / 60} min outage, relay − naive (min)`,
        Number(((relayLong.recoveryS - naiveLong.recoveryS) / 60).toFixed(2)),
      ),
    ],
    notes: [
      `Tasks submitted over ${SUBMIT_SPAN_S / 60} min, generation ${GENERATION_S[0] / 60}–${GENERATION_S[1] / 60} min, one in ${FAILURE_EVERY} fails; the ingress is down from t=0 for ${short / 60} or ${long / 60} min, so every callback is lost and every task is recovered by polling. Real work of the pollers and the pipeline (Redis, registry, reconcile pass, provider client over HTTP, worker, S3): relay ${Math.round(relayRun.realMs)} ms, naive ${Math.round(naiveRun.realMs)} ms in all.`,
      `The relay polls a task first ${POLICY.afterS} s after registration (RECONCILE_AFTER_S), then after ${POLICY.intervalS} s doubling up to ${POLICY.maxIntervalS} s; a pass every ${PASS_S} s. The naive poller asks about every open task every ${NAIVE_EVERY_S} s from submission.`,
      "Recovery time ends at the task's outcome event on the events stream: `media.stored` once a real worker process has stored the video (256 KiB) and the cover from the simulator into an S3 server process, `task.failed` for the tasks the provider failed. Both pollers hand what they find to that same pipeline (the poll admitted as a job by the claim script, failures through the reconciler's failure sink). The pollers' clock is virtual and stands still while the pipeline drains after each pass; the real time from hand-off to the event (its stream entry id) is added 1:1, queueing behind the other tasks of the same pass included.",
      'The trade: the relay waits for the callback first (RECONCILE_AFTER_S) and so recovers later after an outage, in exchange for one poll per task instead of one per 30 s of generation. Lower RECONCILE_AFTER_S to recover sooner; each poll it adds costs one provider call per open task.',
    ],
    ...(failures.length > 0 ? { failures } : {}),
  };
}
