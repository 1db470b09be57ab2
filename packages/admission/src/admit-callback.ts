import type { Callback, CallbackJob, CallbackJobOptions, RelayKeys } from '@runway-relay/contracts';
import type { EventStreamOptions, RedisClient } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import { type ClaimResult, claimTask, defineClaimCommand, type SignedDelivery } from './claim-task.js';
import { publishConflict } from './conflict-event.js';
import { enqueueCallback, validCallbackJob } from './enqueue.js';
import { extraFields } from './extra-fields.js';

export interface AdmitDeps {
  redis: RedisClient;
  queue: Queue;
  keys: RelayKeys;
  /** Where `task.conflict` events go. */
  events: EventStreamOptions;
  jobOptions: CallbackJobOptions;
  /** Life of the task record, in seconds (`TASK_TTL_DAYS`). */
  ttlSeconds: number;
}

export interface AdmitInput {
  /** The callback as the schema parsed it. */
  callback: Callback;
  /** The parsed JSON body: its fields outside the schema are kept with the job. */
  body: unknown;
  receipt: CallbackJob['receipt'];
  nowMs: number;
  /** Set when the delivery carried a valid provider signature. */
  signed?: SignedDelivery;
  /** `poll` when the reconciler built the callback from the provider's API; absent for a delivery. */
  source?: CallbackJob['source'];
}

/** Runs one Redis step; the route wraps each in its 503 handling, the dashboard runs them plainly. */
export type StepRunner = <T>(step: 'claim' | 'enqueue' | 'conflict_event', work: () => Promise<T>) => Promise<T>;

const plainly: StepRunner = (_step, work) => work();

/**
 * The path of a valid callback after authentication: the job is built and checked against the
 * contract, the task claimed (dedupe, replay check and task record in one script), the job
 * added when the claim says so, and a `task.conflict` event written for a conflicting one.
 * The callback route and the dashboard's quarantine replay share it, so a replayed body is
 * treated exactly as a delivery (docs/ingress.md, "Deduplication").
 */
export async function admitCallback(
  deps: AdmitDeps,
  input: AdmitInput,
  run: StepRunner = plainly,
): Promise<ClaimResult> {
  const { callback } = input;
  const job: CallbackJob = validCallbackJob({
    v: 1,
    callback,
    receipt: input.receipt,
    extra: extraFields(input.body),
    ...(input.source ? { source: input.source } : {}),
  });
  const claim = await run('claim', () =>
    claimTask(deps.redis, deps.keys, {
      job,
      nowMs: input.nowMs,
      ttlSeconds: deps.ttlSeconds,
      ...(input.signed ? { signed: input.signed } : {}),
    }),
  );
  if (claim.decision === 'new' || claim.decision === 'ensure') {
    await run('enqueue', () => enqueueCallback(deps.queue, job, deps.jobOptions));
  }
  if (claim.decision === 'conflict' && claim.accepted) {
    const accepted = claim.accepted;
    await run('conflict_event', () =>
      publishConflict(deps.redis, deps.events, { taskId: callback.task_id, accepted, conflicting: claim.delivery }),
    );
  }
  return claim;
}

/** Makes `redis` able to run the claim (the ingress does it once at build; other callers too). */
export function prepareAdmission(redis: RedisClient): void {
  if (typeof (redis as unknown as { relayClaimTask?: unknown }).relayClaimTask !== 'function') {
    defineClaimCommand(redis);
  }
}
