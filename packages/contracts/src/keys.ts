import type { TaskStatus } from './task-state.js';

/**
 * Every Redis key the relay writes besides BullMQ's own. All of them start with the
 * queue prefix, so with a hash-tagged prefix such as `{runway}` they share one Redis
 * Cluster slot with the queue's keys and multi-key scripts stay legal.
 */
export interface RelayKeys {
  /** Hash with the state of one task (docs/architecture.md §4). */
  task(taskId: string): string;
  /**
   * Sorted set of the ids of quarantined bodies (authenticated bodies that failed the schema),
   * scored by receipt time in ms; capped at `QUARANTINE_MAXLEN` (docs/dashboard.md, "Quarantine").
   */
  quarantine: string;
  /** Hash: quarantine id → the quarantined entry as JSON (see {@link quarantine}). */
  quarantineEntries: string;
  /**
   * Sorted set of task ids by the time of their last status change (ms): one per status and
   * one for all tasks, trimmed to the task records' life (`TASK_TTL_DAYS`). The dashboard
   * lists and searches tasks with them (docs/dashboard.md, "Listing tasks").
   */
  taskIndex(status: TaskStatus | 'all'): string;
  /** List of the operator actions on one task (JSON `AuditEntry`), oldest first. */
  taskAudit(taskId: string): string;
  /**
   * Replay record of one provider signature: the sha256 of the body first seen with it.
   * `fingerprint` is the sha256 of `<task_id>.<timestamp>.<signature>`.
   */
  signature(fingerprint: string): string;
  /** BullMQ's hash of one job, used to ask "does this job exist?" inside the dedupe script. */
  job(jobId: string): string;
  /** Hash of a task registered with the reconciler: registration time, metadata, poll schedule. */
  pollTask(taskId: string): string;
  /** Sorted set of the reconciler's open tasks, scored by the time of their next poll (ms). */
  pollDue: string;
  /** Token bucket of the provider API rate limiter, shared by every process. */
  providerRate: string;
}

export function relayKeys(prefix: string, queueName: string): RelayKeys {
  return {
    task: (taskId) => `${prefix}:relay:task:${taskId}`,
    quarantine: `${prefix}:relay:quarantine:ids`,
    quarantineEntries: `${prefix}:relay:quarantine:entries`,
    taskIndex: (status) => `${prefix}:relay:tasks:${status}`,
    taskAudit: (taskId) => `${prefix}:relay:audit:${taskId}`,
    signature: (fingerprint) => `${prefix}:relay:sig:${fingerprint}`,
    job: (jobId) => `${prefix}:${queueName}:${jobId}`,
    pollTask: (taskId) => `${prefix}:relay:poll:task:${taskId}`,
    pollDue: `${prefix}:relay:poll:due`,
    providerRate: `${prefix}:relay:provider:rate`,
  };
}
