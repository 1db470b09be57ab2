import type { TaskRegistry } from '@runway-relay/admission';
import { callbackJobOptions, type RelayKeys, type WorkerConfig } from '@runway-relay/contracts';
import type { ProviderClient } from '@runway-relay/provider-client';
import { type EventStreamOptions, type Logger, publishEvent, type RedisClient } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import { registeredLabels } from '../registered-labels.js';
import type { TaskStore } from '../task-store.js';
import { createPollEnqueuer } from './poll-enqueue.js';
import { type ReconcileFailure, reconcileFailedEvent } from './reconcile-failure.js';
import { reconcilePass } from './reconcile-pass.js';
import { installReconcileScheduler, type ReconcileScheduler } from './reconcile-scheduler.js';

export interface ReconcilerOptions {
  config: WorkerConfig;
  logger: Logger;
  /** A `worker`-role connection. */
  redis: RedisClient;
  keys: RelayKeys;
  /** The callbacks queue: jobs from polls go where the ingress puts callbacks. */
  queue: Queue;
  client: Pick<ProviderClient, 'taskDetail'>;
  registry: TaskRegistry;
  tasks: TaskStore;
  events: EventStreamOptions;
}

/**
 * The reconciler's `emitFailed`: the classified `task.failed` (with the task's registered
 * labels), then the task record and status indexes as the worker's failure path writes them,
 * so the dashboard lists the task as failed. Event first: a crash in between polls again and
 * re-emits the same event id.
 */
export function createReconcileFailureSink(
  options: Pick<ReconcilerOptions, 'redis' | 'registry' | 'tasks' | 'events' | 'logger'>,
) {
  return async (failure: ReconcileFailure): Promise<void> => {
    const event = reconcileFailedEvent(failure, Date.now());
    await publishEvent(options.redis, options.events, {
      ...event,
      ...(await registeredLabels(options.registry, failure.taskId, options.logger)),
    });
    await options.tasks.markFailedByPoll(failure.taskId, {
      category: failure.category,
      detail: failure.detail ?? failure.providerMessage ?? failure.reason,
      attempts: failure.polls,
      code: failure.providerCode ?? 0,
      msg: failure.providerMessage ?? '',
    });
  };
}

/**
 * Installs the reconcile schedule (docs/reconciliation.md) and runs its passes in this
 * process: polls through `client`, jobs admitted as callbacks, failures published and recorded.
 */
export function startReconciler(options: ReconcilerOptions): Promise<ReconcileScheduler> {
  const { config } = options;
  const enqueue = createPollEnqueuer({
    redis: options.redis,
    queue: options.queue,
    keys: options.keys,
    events: options.events,
    jobOptions: callbackJobOptions(config),
    ttlSeconds: config.TASK_TTL_DAYS * 86_400,
  });
  const emitFailed = createReconcileFailureSink(options);
  const policy = {
    intervalS: config.RECONCILE_INTERVAL_S,
    maxIntervalS: config.RECONCILE_MAX_INTERVAL_S,
    maxAgeS: config.RECONCILE_MAX_AGE_S,
  };
  return installReconcileScheduler({
    connection: options.redis,
    prefix: config.QUEUE_PREFIX,
    everyMs: config.RECONCILE_PASS_S * 1000,
    logger: options.logger,
    runPass: (now) =>
      reconcilePass({
        registry: options.registry,
        client: options.client,
        now,
        enqueue,
        emitFailed,
        policy,
        logger: options.logger,
      }),
  });
}
