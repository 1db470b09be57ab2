import type { TaskRegistry } from '@runway-relay/admission';
import {
  type Callback,
  type CallbackJob,
  CallbackJobSchema,
  classifyProviderFailure,
  failureClass,
  jobIdFor,
  type MediaKind,
  type MediaStoredEvent,
  outcomeEventId,
  type RelayEventType,
  type StoredObject,
  type TaskState,
} from '@runway-relay/contracts';
import { type EventStreamOptions, type Logger, publishEvent, type RedisClient } from '@runway-relay/runtime';
import type { ObjectStore } from '@runway-relay/storage';
import { type Job, UnrecoverableError } from 'bullmq';
import type { DownloadOptions } from './download/index.js';
import { type ClassifiedFailure, classifyJobError } from './failure.js';
import { storeMedia } from './media/store-media.js';
import type { WorkerMetrics } from './metrics.js';
import type { CallbackVerifier, VerifiedPlan } from './provider/callback-verifier.js';
import type { MediaUrls } from './provider/verify-callback.js';
import { registeredLabels } from './registered-labels.js';
import type { StoreReadiness } from './storage/store-readiness.js';
import type { TaskStore } from './task-store.js';

export interface ProcessorDeps {
  logger: Logger;
  tasks: TaskStore;
  store: ObjectStore;
  /** Checked before each download, so a store that is down costs no source bandwidth. */
  readiness: StoreReadiness;
  /** Key prefix inside the bucket. */
  objectPrefix: string;
  download: DownloadOptions;
  /** Connection the events are written with. */
  redis: RedisClient;
  events: EventStreamOptions;
  metrics: WorkerMetrics;
  /**
   * Verified callbacks (`PROVIDER_VERIFY`): asks the provider's API before any download and
   * follows its answer. Absent: the callback's own URLs and outcome are used, as before.
   */
  verifier?: CallbackVerifier;
  /**
   * The reconciler's registry: a task registered with labels gets them back on its outcome
   * event, and a stored or failed task leaves the reconciler's open index.
   */
  registry?: Pick<TaskRegistry, 'get' | 'markTerminal'>;
}

/**
 * A finished job's return value, which Bull Board shows on the job. `result` is one line for
 * the operator; a provider failure is a *completed* job (the relay did its work: it announced
 * the failure) whose result says `provider failure: <category>` (docs/worker.md, "Provider failures").
 */
export type JobResult =
  | { status: 'stored'; result: string; objects: StoredObject[] }
  | { status: 'already_stored'; result: string }
  | { status: 'provider_failure'; result: string; category: string }
  | { status: 'superseded'; result: string }
  | { status: 'held'; result: string };

interface Context {
  deps: ProcessorDeps;
  job: Job;
  data: CallbackJob;
  log: Logger;
  attempt: number;
  lastAttempt: boolean;
  /** The task's revision (see TaskState): its outcome events carry it in their ids. */
  revision: number;
}

const MEDIA: ReadonlyArray<[MediaKind, (callback: Callback) => string | null]> = [
  ['video', (c) => c.video_url],
  ['cover', (c) => c.image_url],
];

/** The fields every outcome event of a job shares; its id is deterministic per job and type. */
function eventHeader<T extends RelayEventType>(ctx: Context, type: T) {
  const { callback } = ctx.data;
  return {
    v: 1 as const,
    id: outcomeEventId(ctx.job.id ?? '', type, ctx.revision),
    type,
    task_id: callback.task_id,
    at: new Date().toISOString(),
    video_id: callback.video_id,
    attempts: ctx.attempt,
  };
}

async function emitFailed(
  ctx: Context,
  failure: ClassifiedFailure,
  provider: { code: number; msg: string } = ctx.data.callback,
): Promise<void> {
  // The table gives the action; whether a retry helps is the failing error's own word.
  const { action } = failureClass(failure.category);
  await publishEvent(ctx.deps.redis, ctx.deps.events, {
    ...eventHeader(ctx, 'task.failed'),
    source: failure.source,
    category: failure.category,
    retryable: failure.retryable,
    action,
    provider_code: provider.code,
    provider_message: provider.msg === '' ? null : provider.msg,
    detail: failure.source === 'provider' ? null : failure.detail,
    ...(await registeredLabels(ctx.deps.registry, ctx.data.callback.task_id, ctx.log)),
  });
  // The event is written before the task is marked final: a crash in between re-runs the job,
  // which writes the event again under the same id (at-least-once) instead of losing it.
  await ctx.deps.tasks.markFailed(ctx.data.callback.task_id, failure.category, failure.detail, ctx.attempt);
  await ctx.deps.registry?.markTerminal(ctx.data.callback.task_id, 'failed');
  ctx.deps.metrics.jobs.inc({ outcome: 'failed', category: failure.category });
  ctx.log.warn({ category: failure.category, source: failure.source, detail: failure.detail }, 'task failed');
}

/**
 * A task whose callbacks disagree (an open conflict) gets no outcome event: its media stay in
 * the bucket, unverified, until an operator or the provider's API resolves the conflict and
 * re-runs the job. Checked right before the outcome is announced.
 *
 * `announced` is what the job is about to announce when it came from the provider's API (a
 * verified job, or one made from a poll): it is then the task's accepted side, and a conflict
 * that opened since the API was asked (a delivery that landed during the download) is put to
 * the API again instead of waiting for an operator.
 */
async function holdIfDisputed(ctx: Context, announced?: Callback): Promise<JobResult | null> {
  const { callback } = ctx.data;
  const state = await ctx.deps.tasks.get(callback.task_id);
  if (state?.conflict_state !== 'open') return null;
  const { verifier } = ctx.deps;
  if (verifier && announced && (await verifier.confirmAccepted(ctx.data, announced, state, ctx.log))) return null;
  await ctx.deps.tasks.markHeld(callback.task_id);
  ctx.deps.metrics.jobs.inc({ outcome: 'held', category: '' });
  ctx.log.warn('conflicting callbacks for this task: held, no outcome event until the conflict is resolved');
  return { status: 'held', result: 'held: conflicting callbacks, no outcome until the conflict is resolved' };
}

/** A provider failure callback: classify it and emit `task.failed`, unless a success superseded it. */
async function processFailure(ctx: Context): Promise<JobResult> {
  const { callback } = ctx.data;
  const state = await ctx.deps.tasks.get(callback.task_id);
  ctx.revision = state?.revision ?? 0;
  // Asked first, so the API can settle an open conflict before the hold below. A task whose
  // success was accepted is left to that success's job.
  const plan = state?.accepted_outcome === 'success' ? null : await verifiedPlan(ctx, state);
  if (plan?.kind === 'store') return processSuccess(ctx, plan.urls);
  const held = await holdIfDisputed(ctx, plan ? { ...callback, code: plan.code, msg: plan.msg } : undefined);
  if (held) return held;
  if (state?.accepted_outcome === 'success') {
    ctx.log.info('failure callback superseded by a success callback, skipping');
    ctx.deps.metrics.jobs.inc({ outcome: 'skipped', category: '' });
    return { status: 'superseded', result: 'superseded by a success callback' };
  }
  return emitProviderFailure(ctx, plan ?? callback);
}

/** Emits the classified `task.failed` of a provider failure with this code and message. */
async function emitProviderFailure(ctx: Context, said: { code: number; msg: string }): Promise<JobResult> {
  const { category, retryable } = classifyProviderFailure(said.code, said.msg);
  await emitFailed(ctx, { source: 'provider', category, retryable, detail: said.msg }, said);
  return { status: 'provider_failure', result: `provider failure: ${category}`, category };
}

/**
 * With verification on, what the provider's API says the job must do (docs/security.md,
 * "Verified callbacks"): null when it is off (or the job came from the API already). A task
 * the API cannot confirm yet is retried; on the last attempt it fails, nothing unverified
 * downloaded. A task the API does not know fails at once (`unverified`).
 */
async function verifiedPlan(
  ctx: Context,
  state: TaskState | null,
): Promise<Exclude<VerifiedPlan, { kind: 'retry' | 'reject' }> | null> {
  const { verifier } = ctx.deps;
  if (!verifier || ctx.data.source === 'poll') return null;
  const plan = await verifier.settle(ctx.data, state, ctx.log);
  if (plan.kind === 'reject') {
    await emitFailed(ctx, { source: 'worker', category: plan.category, retryable: false, detail: plan.detail });
    throw new UnrecoverableError(`${plan.category}: ${plan.detail}`);
  }
  if (plan.kind !== 'retry') return plan;
  const failure: ClassifiedFailure = {
    source: 'worker',
    category: plan.category,
    retryable: true,
    detail: plan.detail,
  };
  if (ctx.lastAttempt) {
    await emitFailed(ctx, failure);
    throw new UnrecoverableError(`${failure.category}: ${failure.detail}`);
  }
  await ctx.deps.tasks.markAttemptFailed(ctx.data.callback.task_id, failure.category, failure.detail);
  ctx.deps.metrics.jobs.inc({ outcome: 'retry', category: failure.category });
  throw new Error(failure.detail);
}

/**
 * What a success job announces when the provider's API gave it (see {@link holdIfDisputed}):
 * the verified URLs (the job may carry a failure callback the API contradicted), or a job made
 * from a poll as it is. Undefined for a job the API never confirmed.
 */
function announcedSuccess(ctx: Context, urls: MediaUrls | undefined): Callback | undefined {
  const { callback } = ctx.data;
  if (urls) return { ...callback, outcome: 'success', code: 200, video_url: urls.video, image_url: urls.cover };
  return ctx.data.source === 'poll' ? callback : undefined;
}

/** A success callback: store the video and the cover (each at most once), then emit `media.stored`. */
async function processSuccess(ctx: Context, verifiedUrls?: MediaUrls): Promise<JobResult> {
  const { callback } = ctx.data;
  const { deps, log } = ctx;
  const state = await deps.tasks.get(callback.task_id);
  ctx.revision = state?.revision ?? 0;
  if (state?.status === 'stored') {
    log.info('task already stored, nothing to do');
    deps.metrics.jobs.inc({ outcome: 'skipped', category: '' });
    return { status: 'already_stored', result: 'already stored, nothing to do' };
  }
  let urls = verifiedUrls;
  if (urls === undefined) {
    const plan = await verifiedPlan(ctx, state);
    if (plan?.kind === 'fail') return emitProviderFailure(ctx, plan);
    urls = plan?.urls;
  }
  await deps.tasks.markProcessing(callback.task_id, ctx.attempt);
  const objects: StoredObject[] = [];
  const missing: MediaStoredEvent['missing'] = [];
  let transferMs = 0;
  for (const [kind, urlOf] of MEDIA) {
    // Verified: the provider API's URLs, never the callback's.
    const url = urls ? (kind === 'video' ? urls.video : urls.cover) : urlOf(callback);
    if (url === null) continue;
    const existing = state?.[kind];
    if (existing) {
      log.info({ kind, key: existing.key }, 'already stored by an earlier attempt, skipping download');
      objects.push(existing);
      continue;
    }
    try {
      const stored = await storeMedia({
        taskId: callback.task_id,
        videoId: callback.video_id,
        kind,
        url,
        prefix: deps.objectPrefix,
        store: deps.store,
        readiness: deps.readiness,
        download: deps.download,
      });
      await deps.tasks.recordObject(callback.task_id, kind, stored.object);
      objects.push(stored.object);
      transferMs += stored.transferMs;
      deps.metrics.bytesStored.inc({ kind }, stored.object.size);
      deps.metrics.transferSeconds.observe({ kind }, stored.transferMs / 1000);
      // Debug: 'task stored' is the job's one line at info (docs/worker.md, "Logs").
      log.debug(
        { kind, key: stored.object.key, size: stored.object.size, ms: Math.round(stored.transferMs) },
        'media stored',
      );
    } catch (error) {
      const failure = classifyJobError(error);
      // The video is what matters: a cover that cannot be had does not fail a saved video.
      if (kind === 'cover' && (!failure.retryable || ctx.lastAttempt)) {
        log.warn({ kind, category: failure.category, detail: failure.detail }, 'cover not stored, keeping the video');
        missing.push({ kind, category: failure.category, detail: failure.detail });
        continue;
      }
      if (!failure.retryable || ctx.lastAttempt) {
        await emitFailed(ctx, failure);
        throw new UnrecoverableError(`${failure.category}: ${failure.detail}`);
      }
      await deps.tasks.markAttemptFailed(callback.task_id, failure.category, failure.detail);
      deps.metrics.jobs.inc({ outcome: 'retry', category: failure.category });
      log.warn({ kind, category: failure.category, detail: failure.detail }, 'media transfer failed, will retry');
      throw error;
    }
  }
  const held = await holdIfDisputed(ctx, announcedSuccess(ctx, urls));
  if (held) return held;
  await publishEvent(deps.redis, deps.events, {
    ...eventHeader(ctx, 'media.stored'),
    objects,
    timings: { total_ms: Math.max(0, Date.now() - Date.parse(ctx.data.receipt.received_at)), transfer_ms: transferMs },
    missing,
    ...(ctx.data.source === 'poll' ? { source: 'poll' as const } : {}),
    ...(await registeredLabels(deps.registry, callback.task_id, log)),
  });
  // Marked stored only after the event is written (see emitFailed): a duplicate job that
  // finds 'stored' can then skip safely, the event exists.
  await deps.tasks.markStored(callback.task_id);
  await deps.registry?.markTerminal(callback.task_id, 'stored');
  deps.metrics.jobs.inc({ outcome: 'stored', category: '' });
  log.info({ objects: objects.length }, 'task stored');
  const kinds = objects.map((object) => object.kind).join(' + ');
  return { status: 'stored', result: `stored: ${kinds}${missing.length > 0 ? ' (cover missing)' : ''}`, objects };
}

function contextOf(deps: ProcessorDeps, job: Job, data: CallbackJob): Context {
  const attempt = job.attemptsMade + 1;
  return {
    deps,
    job,
    data,
    attempt,
    lastAttempt: attempt >= (job.opts.attempts ?? 1),
    revision: 0,
    log: deps.logger.child({ task_id: data.callback.task_id, job_id: job.id, attempt }),
  };
}

/** BullMQ's reason for a job whose worker died more often than `WORKER_MAX_STALLED` allows. */
const STALL_LIMIT = /more than allowable limit/;

/**
 * The worker's `failed` listener. BullMQ fails a job that stalled too often (its worker kept
 * dying: a crash, OOM, kills) without running the processor, so its `task.failed` is written here.
 */
export function createFailedListener(deps: ProcessorDeps) {
  return (job: Job | undefined, error: Error): void => {
    if (!job || !STALL_LIMIT.test(error.message)) return;
    const parsed = CallbackJobSchema.safeParse(job.data);
    if (!parsed.success) return;
    const ctx = contextOf(deps, job, parsed.data);
    emitFailed(ctx, { source: 'worker', category: 'interrupted', retryable: true, detail: error.message }).catch(
      (failure: unknown) => ctx.log.error({ err: failure }, 'could not record the failure of a stalled job'),
    );
  };
}

/** The BullMQ processor of callback jobs. */
export function createProcessor(deps: ProcessorDeps) {
  return async (job: Job): Promise<JobResult> => {
    const parsed = CallbackJobSchema.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error({ job_id: job.id, issues: parsed.error.issues }, 'job data does not match the contract');
      deps.metrics.jobsRefused.inc({ reason: 'invalid_data' });
      throw new UnrecoverableError('job data does not match the contract');
    }
    // Job ids are derived from the callback; data edited afterwards (Bull Board's edit and
    // retry) could aim this job at another task's record and objects: refuse before any of it.
    const { task_id: taskId, outcome } = parsed.data.callback;
    if (job.id !== jobIdFor(taskId, outcome)) {
      const detail = `job ${job.id} carries the callback of task ${taskId} (expected job id ${jobIdFor(taskId, outcome)})`;
      deps.logger.error({ job_id: job.id, task_id: taskId }, `job refused: ${detail}`);
      deps.metrics.jobsRefused.inc({ reason: 'job_id_mismatch' });
      throw new UnrecoverableError(`job_id_mismatch: ${detail}`);
    }
    const ctx = contextOf(deps, job, parsed.data);
    deps.metrics.activeJobs.inc();
    try {
      return parsed.data.callback.outcome === 'failure' ? await processFailure(ctx) : await processSuccess(ctx);
    } finally {
      deps.metrics.activeJobs.dec();
    }
  };
}
