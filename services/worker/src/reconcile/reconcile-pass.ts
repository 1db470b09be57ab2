import type { RegisteredTask, TaskRegistry } from '@runway-relay/admission';
import type { CallbackJob } from '@runway-relay/contracts';
import { type ProviderClient, ProviderError } from '@runway-relay/provider-client';
import type { Logger } from '@runway-relay/runtime';
import { decidePoll, type PollOutcome, type ReconcilePolicy, stopsThePass } from './poll-decision.js';
import type { ReconcileFailure } from './reconcile-failure.js';

export interface ReconcilePassDeps {
  registry: TaskRegistry;
  /** The provider client (its limiter is shared by every process). */
  client: Pick<ProviderClient, 'taskDetail'>;
  /** Time of the pass, ms since the epoch. */
  now: number;
  /** Puts a job from a poll through the dedupe claim and onto the callbacks queue (see `createPollEnqueuer`). */
  enqueue: (job: CallbackJob) => Promise<unknown>;
  /** Publishes the failure (e.g. `reconcileFailedEvent`) and marks the task record failed. */
  emitFailed: (failure: ReconcileFailure) => Promise<void>;
  policy: ReconcilePolicy;
  /** Tasks claimed per round. Default 50. */
  batchSize?: number;
  /** Most tasks polled in one pass; the rest wait for the next. Default 500. */
  maxTasks?: number;
  /** ms a claimed task is hidden from other passes; longer than a round can take. Default 120000. */
  leaseMs?: number;
  /** Polls in flight at once (the shared limiter paces them). Default 4. */
  concurrency?: number;
  logger?: Logger;
}

/** What one pass did, by decision. */
export interface ReconcilePassSummary {
  claimed: number;
  enqueued: number;
  failed: number;
  expired: number;
  gaveUp: number;
  rescheduled: number;
  /** Tasks left leased after an error (they come back when the lease ends). */
  errors: number;
  /** The pass stopped early: the provider refused our key or credits. */
  stoppedBy?: 'auth' | 'credits';
}

type Result = keyof Omit<ReconcilePassSummary, 'claimed' | 'stoppedBy'>;

const FAILURE_RESULT: Record<ReconcileFailure['reason'], Result> = {
  provider_failed: 'failed',
  link_expired: 'expired',
  gave_up: 'gaveUp',
};

async function poll(deps: ReconcilePassDeps, task: RegisteredTask): Promise<PollOutcome> {
  try {
    return { detail: await deps.client.taskDetail(task.taskId, task.model) };
  } catch (error) {
    if (error instanceof ProviderError) return { error };
    throw error;
  }
}

/** Polls one claimed task and acts on the decision; returns what happened. */
async function reconcileTask(deps: ReconcilePassDeps, taskId: string, stop: (kind: 'auth' | 'credits') => void) {
  const { registry, now } = deps;
  const task = await registry.get(taskId);
  // Ended between the claim and now: markTerminal already took it out of the index.
  if (task?.terminalAt !== undefined) return null;
  if (task === null) {
    // Its record expired: drop the orphaned index entry.
    await registry.markTerminal(taskId, 'forgotten', now);
    return null;
  }
  const outcome = await poll(deps, task);
  if ('error' in outcome && stopsThePass(outcome.error)) stop(outcome.error.kind as 'auth' | 'credits');
  const decision = decidePoll(task, outcome, now, deps.policy);
  const log = deps.logger?.child({ task_id: taskId });
  if (decision.kind === 'enqueue') {
    const claim = await deps.enqueue(decision.job);
    await registry.markTerminal(taskId, 'enqueued', now);
    log?.info({ claim }, 'reconciler: the provider reports success, job queued from the poll');
    return 'enqueued' as const;
  }
  if (decision.kind === 'failed') {
    // The event first: a crash before markTerminal polls again and re-emits the same event id.
    await deps.emitFailed(decision.failure);
    await registry.markTerminal(taskId, decision.failure.reason, now);
    log?.warn({ category: decision.failure.category, reason: decision.failure.reason }, 'reconciler: task failed');
    return FAILURE_RESULT[decision.failure.reason];
  }
  await registry.reschedule(taskId, {
    atMs: decision.atMs,
    intervalS: decision.intervalS,
    state: decision.state,
    polledAtMs: now,
  });
  if ('error' in outcome) log?.warn({ err: outcome.error, kind: outcome.error.kind }, 'reconciler: poll failed');
  return 'rescheduled' as const;
}

/**
 * One reconcile pass (docs/worker.md, "The reconciler"): claims the due tasks atomically, so
 * concurrent passes in other processes never poll the same task, polls each through the
 * provider client and acts on {@link decidePoll}. Errors of one task leave it leased (it is
 * due again when the lease ends) and never stop the others; a refused key or exhausted
 * credits stop the pass, since every further poll would be refused too.
 */
export async function reconcilePass(deps: ReconcilePassDeps): Promise<ReconcilePassSummary> {
  const batchSize = deps.batchSize ?? 50;
  const maxTasks = deps.maxTasks ?? 500;
  const leaseMs = deps.leaseMs ?? 120_000;
  const startedAt = Date.now();
  const summary: ReconcilePassSummary = {
    claimed: 0,
    enqueued: 0,
    failed: 0,
    expired: 0,
    gaveUp: 0,
    rescheduled: 0,
    errors: 0,
  };
  const stop = (kind: 'auth' | 'credits') => {
    summary.stoppedBy ??= kind;
  };
  while (summary.claimed < maxTasks && summary.stoppedBy === undefined) {
    // Each round's lease runs from when it is claimed: a long pass never polls on an expired lease.
    const leaseUntil = deps.now + (Date.now() - startedAt) + leaseMs;
    const ids = await deps.registry.claimDue(deps.now, leaseUntil, Math.min(batchSize, maxTasks - summary.claimed));
    if (ids.length === 0) break;
    summary.claimed += ids.length;
    const queue = [...ids];
    const lanes = Array.from({ length: Math.min(deps.concurrency ?? 4, queue.length) }, async () => {
      for (let taskId = queue.shift(); taskId !== undefined; taskId = queue.shift()) {
        if (summary.stoppedBy !== undefined) return;
        try {
          const result = await reconcileTask(deps, taskId, stop);
          if (result) summary[result] += 1;
        } catch (error) {
          summary.errors += 1;
          deps.logger?.error({ err: error, task_id: taskId }, 'reconciler: task left for the next pass');
        }
      }
    });
    await Promise.all(lanes);
  }
  return summary;
}
