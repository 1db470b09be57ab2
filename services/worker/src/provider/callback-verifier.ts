import { publishConflict } from '@runway-relay/admission';
import {
  acceptedCallbackFields,
  type Callback,
  type CallbackJob,
  type ConflictRecord,
  callbackFingerprint,
  type FailureCategory,
  RawCallbackSchema,
  type RelayKeys,
  summarizeCallback,
  type TaskState,
} from '@runway-relay/contracts';
import type { ProviderClient, TaskDetail, TaskModel } from '@runway-relay/provider-client';
import type { EventStreamOptions, Logger, RedisClient } from '@runway-relay/runtime';
import { Counter, type Registry } from 'prom-client';
import { jobFromPoll, providerApiJob } from '../reconcile/poll-job.js';
import { type MediaUrls, verifyAgainstProvider } from './verify-callback.js';

/**
 * What a job does once the provider's API has been asked:
 * - `store`: download these URLs (the API's, never the callback's);
 * - `fail`: the API says the task failed, with its code and message;
 * - `retry`: the API could not confirm yet (still running, or unreachable): try the job later;
 * - `reject`: the API will never confirm it (it does not know the task): fail the job now,
 *   nothing downloaded.
 */
export type VerifiedPlan =
  | { kind: 'store'; urls: MediaUrls }
  | { kind: 'fail'; code: number; msg: string }
  | { kind: 'retry'; category: FailureCategory; detail: string }
  | { kind: 'reject'; category: 'unverified'; detail: string };

export interface CallbackVerifier {
  /**
   * Asks the provider about the job's task and settles what the job does. A disagreement is
   * recorded on the task (a conflict resolved by `provider_api`), announced as `task.conflict`
   * and logged as a security event; an open conflict the API settles is resolved the same way.
   */
  settle(job: CallbackJob, state: TaskState | null, log: Logger): Promise<VerifiedPlan>;
  /**
   * A conflict that opened while the job ran, after {@link settle} (a delivery that landed
   * during the download): asks the API again whether it still says what the job is about to
   * announce, `announced` (the API's own answer of a moment ago, hence the task's accepted
   * side). True when it does: the conflict is closed keeping the accepted side, and the job
   * may announce. False otherwise (other media, still running, no answer): the task is held.
   */
  confirmAccepted(job: CallbackJob, announced: Callback, state: TaskState, log: Logger): Promise<boolean>;
}

export interface CallbackVerifierDeps {
  client: Pick<ProviderClient, 'taskDetail'>;
  /** The model whose task-detail endpoint answers about a task (the reconciler's registry knows). */
  modelOf: (taskId: string) => Promise<TaskModel>;
  redis: RedisClient;
  keys: RelayKeys;
  /** Life of task records, seconds (`TASK_TTL_DAYS`). */
  ttlSeconds: number;
  events: EventStreamOptions;
  metrics: VerificationMetrics;
  now?: () => number;
}

export type VerificationMetrics = ReturnType<typeof createVerificationMetrics>;

/** `relay_callback_verification_total{result}`: agree, disagree, not_final, unknown_task, unavailable. */
export function createVerificationMetrics(registry: Registry) {
  return {
    verifications: new Counter({
      name: 'relay_callback_verification_total',
      help: 'Callbacks checked against the provider API before download, by result (agree, disagree, not_final, unknown_task, unavailable); disagree and unknown_task are security events',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

/** The job the provider's answer would have made: the same schema, so its fingerprint matches the real callback's. */
export function jobFromDetail(detail: TaskDetail, nowMs: number): CallbackJob {
  if (detail.state === 'success') return jobFromPoll(detail, nowMs);
  // A failure's code decides its classification; a fail without one (or with 200) is a provider error.
  const code = detail.failCode !== null && detail.failCode !== 200 ? detail.failCode : 500;
  const callback = RawCallbackSchema.parse({ code, msg: detail.failMsg, data: { task_id: detail.taskId } });
  return providerApiJob(detail, callback, nowMs, 'verify');
}

export function createCallbackVerifier(deps: CallbackVerifierDeps): CallbackVerifier {
  const now = deps.now ?? Date.now;
  const count = (result: string) => deps.metrics.verifications.inc({ result });

  /** Closes the task's conflict in the API's favour, once per distinct answer; true when it was new. */
  const recordDisagreement = async (job: CallbackJob, state: TaskState | null, truth: CallbackJob) => {
    const taskId = job.callback.task_id;
    const fingerprint = callbackFingerprint(truth.callback);
    if (state?.conflict_state === 'resolved' && state.content_fp === fingerprint) return false;
    const summary = summarizeCallback(truth.callback, truth.receipt.received_at);
    const accepted = state?.content ?? summarizeCallback(job.callback, job.receipt.received_at);
    const record: ConflictRecord = { fingerprint, summary, job: truth };
    const key = deps.keys.task(taskId);
    // The API's answer becomes the accepted callback: the provider's own (retried) callback
    // is then a duplicate, not a new conflict.
    await deps.redis
      .multi()
      .hset(key, {
        conflict: JSON.stringify(record),
        conflict_state: 'resolved',
        resolution: 'conflicting:provider_api',
        ...acceptedCallbackFields(truth, fingerprint, JSON.stringify(summary)),
        updated_at: now(),
      })
      .hincrby(key, 'conflicts', 1)
      .expire(key, deps.ttlSeconds)
      .exec();
    await publishConflict(deps.redis, deps.events, {
      taskId,
      accepted,
      conflicting: { summary, fingerprint },
      resolution: { kept: 'conflicting', by: 'provider_api' },
    });
    return true;
  };

  /** An open conflict whose accepted side the API confirms: closed, keeping the accepted callback. */
  const resolveOpenConflict = async (taskId: string, state: TaskState, log: Logger) => {
    const { conflict, content } = state;
    if (state.conflict_state !== 'open' || conflict === undefined || content === undefined) return;
    const key = deps.keys.task(taskId);
    await deps.redis
      .multi()
      .hset(key, { conflict_state: 'resolved', resolution: 'accepted:provider_api', updated_at: now() })
      .expire(key, deps.ttlSeconds)
      .exec();
    await publishConflict(deps.redis, deps.events, {
      taskId,
      accepted: content,
      conflicting: conflict,
      resolution: { kept: 'accepted', by: 'provider_api' },
    });
    log.warn({ security: 'callback_mismatch', kept: 'accepted' }, 'open conflict resolved by the provider API');
  };

  return {
    async confirmAccepted(job, announced, state, log) {
      const taskId = job.callback.task_id;
      const again = await verifyAgainstProvider(
        { ...job, callback: announced },
        deps.client,
        await deps.modelOf(taskId),
      );
      if (again.kind !== 'agree') {
        log.warn(
          { provider_result: again.kind },
          'open conflict not confirmed by the provider API: held for an operator',
        );
        return false;
      }
      await resolveOpenConflict(taskId, state, log);
      return true;
    },
    async settle(job, state, log) {
      const taskId = job.callback.task_id;
      const verification = await verifyAgainstProvider(job, deps.client, await deps.modelOf(taskId));
      count(verification.kind);
      switch (verification.kind) {
        case 'not_final':
          log.info({ provider_state: verification.state }, 'the provider API says the task is still running: retry');
          return {
            kind: 'retry',
            category: 'provider_error',
            detail: `provider API reports state ${verification.state} for a ${job.callback.outcome} callback`,
          };
        case 'unknown_task':
          // A signed callback for a task the provider's API says it does not know: never
          // confirmable, so retrying for hours would only delay the verdict. A security event.
          logSecurityEvent(
            log,
            job,
            'callback_unverified',
            { kind: verification.error.kind, provider_code: verification.error.code },
            'the provider API does not know this task: the callback is not trusted, nothing downloaded',
          );
          return {
            kind: 'reject',
            category: 'unverified',
            detail: `provider API refused the task (${verification.error.message})`,
          };
        case 'unavailable':
          log.warn(
            { kind: verification.error.kind, attempts: verification.error.attempts },
            'provider API unavailable: the callback is not verified, nothing downloaded',
          );
          return {
            kind: 'retry',
            category: 'provider_error',
            detail: `provider API unavailable: ${verification.error.message}`,
          };
        case 'agree':
          if (state) await resolveOpenConflict(taskId, state, log);
          return verification.urls
            ? { kind: 'store', urls: verification.urls }
            : { kind: 'fail', code: job.callback.code, msg: job.callback.msg };
        case 'disagree': {
          const truth = jobFromDetail(verification.detail, now());
          const recorded = await recordDisagreement(job, state, truth);
          if (recorded) {
            logSecurityEvent(
              log,
              job,
              'callback_mismatch',
              { differences: verification.differences },
              "callback disagrees with the provider API: the API's answer is used",
            );
          }
          return truth.callback.outcome === 'success' && verification.detail.video
            ? {
                kind: 'store',
                urls: { video: verification.detail.video.videoUrl, cover: verification.detail.video.imageUrl },
              }
            : { kind: 'fail', code: truth.callback.code, msg: truth.callback.msg };
        }
      }
    },
  };
}

/** A security event: what the provider API found, and who sent the callback (redacted: never a full URL or a query string). */
function logSecurityEvent(
  log: Logger,
  job: CallbackJob,
  security: 'callback_mismatch' | 'callback_unverified',
  fields: Record<string, unknown>,
  message: string,
): void {
  log.warn(
    {
      security,
      ...fields,
      request_id: job.receipt.request_id,
      source_ip: job.receipt.source_ip,
      auth: job.receipt.auth,
    },
    message,
  );
}
