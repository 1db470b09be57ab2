/**
 * Every Redis key the relay writes besides BullMQ's own. All of them start with the
 * queue prefix, so with a hash-tagged prefix such as `{runway}` they share one Redis
 * Cluster slot with the queue's keys and multi-key scripts stay legal.
 */
export interface RelayKeys {
  /** Hash with the state of one task (docs/architecture.md §4). */
  task(taskId: string): string;
  /** Capped list of authenticated bodies that failed the schema, for an operator to inspect. */
  quarantine: string;
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
    quarantine: `${prefix}:relay:quarantine`,
    signature: (fingerprint) => `${prefix}:relay:sig:${fingerprint}`,
    job: (jobId) => `${prefix}:${queueName}:${jobId}`,
    pollTask: (taskId) => `${prefix}:relay:poll:task:${taskId}`,
    pollDue: `${prefix}:relay:poll:due`,
    providerRate: `${prefix}:relay:provider:rate`,
  };
}
