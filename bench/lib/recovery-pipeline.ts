/**
 * The pipeline a recovered task is handed to in the reconcile-recovery benchmark: the relay's
 * own admission of a job from a poll (claim script, callbacks queue) into a real worker process
 * that downloads from the simulator and stores into an S3 server process, and the reconciler's
 * failure sink. Each task's recovery ends at its outcome event on the events stream
 * (`media.stored`, or `task.failed` for a task the provider failed), read as other benches do.
 *
 * The pollers run on a virtual clock (production seconds) while the pipeline runs in real time:
 * a task's outcome is placed at its hand-off's virtual second plus the real time from the
 * hand-off to its event (the stream entry's id), 1:1. The clock stands still while the
 * pipeline drains after a pass, so that real time is the pipeline's own, queueing behind the
 * other tasks handed off in the same pass included.
 */
import { createTaskRegistry } from '@runway-relay/admission';
import {
  type CallbackJob,
  callbackJobOptions,
  DEFAULT_QUEUE_NAME,
  JobPolicyEnvSchema,
  relayKeys,
} from '@runway-relay/contracts';
import { createLogger } from '@runway-relay/runtime';
import { waitFor } from '@runway-relay/testkit';
import {
  createPollEnqueuer,
  createReconcileFailureSink,
  createTaskStore,
  type ReconcileFailure,
} from '@runway-relay/worker';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BenchContext } from './bench-types.js';
import { readTimedEvents } from './event-count.js';
import { startBenchS3 } from './servers.js';
import { startWorkerProcesses } from './worker-processes.js';

/** Where one task's recovery ended, in virtual seconds. */
export interface Settled {
  /** Handed to the pipeline (job admitted, or the failure published). */
  handedOffS: number;
  /** Its outcome event written: `media.stored` or `task.failed`. */
  outcomeS: number;
  type: 'media.stored' | 'task.failed';
}

export interface RecoveryPipeline {
  /** Admits a job made from a poll, as the reconciler does, at virtual second `nowS`. */
  enqueue(job: CallbackJob, nowS: number): Promise<void>;
  /** Publishes a failure found by a poll, as the reconciler does, at virtual second `nowS`. */
  fail(failure: ReconcileFailure, nowS: number): Promise<void>;
  /** Waits until every task handed off so far has its outcome event. */
  drain(): Promise<void>;
  /** Settled tasks by id. */
  settled: ReadonlyMap<string, Settled>;
  /** Correctness problems seen (a second outcome event, an admission that was not new). */
  problems: string[];
}

const DRAIN_TIMEOUT_MS = 120_000;

/** Starts the S3 server process and one worker process on `prefix`, and returns the pipeline. */
export async function startRecoveryPipeline(
  ctx: BenchContext,
  options: { redis: Redis; redisUrl: string; prefix: string },
): Promise<RecoveryPipeline> {
  const { redis, prefix } = options;
  const s3 = await startBenchS3(ctx);
  await startWorkerProcesses(ctx, 1, { redisUrl: options.redisUrl, s3, prefix });
  const keys = relayKeys(prefix, DEFAULT_QUEUE_NAME);
  const stream = `${prefix}:events`;
  const events = { stream, maxlen: 1_000_000 };
  const queue = new Queue(DEFAULT_QUEUE_NAME, { connection: redis, prefix });
  ctx.defer(() => queue.close());
  const policy = JobPolicyEnvSchema.parse({});
  const ttlSeconds = 86_400 * 7;
  const admit = createPollEnqueuer({
    redis,
    queue,
    keys,
    events,
    jobOptions: callbackJobOptions(policy),
    ttlSeconds,
  });
  const publishFailure = createReconcileFailureSink({
    redis,
    registry: createTaskRegistry({ redis, keys, afterS: 0, ttlSeconds }),
    tasks: createTaskStore(redis, keys, ttlSeconds),
    events,
    logger: createLogger({ service: 'bench', level: 'silent' }),
  });

  const handedOff = new Map<string, { nowS: number; realMs: number }>();
  const settled = new Map<string, Settled>();
  const problems: string[] = [];
  let lastId = '-';

  const handOff = (taskId: string, nowS: number) => handedOff.set(taskId, { nowS, realMs: Date.now() });

  return {
    enqueue: async (job, nowS) => {
      handOff(job.callback.task_id, nowS);
      const decision = await admit(job);
      if (decision !== 'new') problems.push(`task ${job.callback.task_id} admitted as ${decision}, not new`);
    },
    fail: async (failure, nowS) => {
      handOff(failure.taskId, nowS);
      await publishFailure(failure);
    },
    drain: async () => {
      await waitFor(async () => (await redis.xlen(stream)) >= handedOff.size, {
        timeoutMs: DRAIN_TIMEOUT_MS,
        intervalMs: 20,
        description: `${handedOff.size} outcome events on ${stream}`,
      });
      for (const { id, addedMs, event } of await readTimedEvents(redis, stream, lastId)) {
        lastId = id;
        if (event.type !== 'media.stored' && event.type !== 'task.failed') continue;
        const handoff = handedOff.get(event.task_id);
        if (!handoff) {
          problems.push(`${event.type} for ${event.task_id}, never handed off`);
          continue;
        }
        if (settled.has(event.task_id)) problems.push(`second outcome event for ${event.task_id}`);
        const outcomeS = handoff.nowS + Math.max(0, addedMs - handoff.realMs) / 1000;
        settled.set(event.task_id, { handedOffS: handoff.nowS, outcomeS, type: event.type });
      }
    },
    settled,
    problems,
  };
}
