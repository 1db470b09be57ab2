import type { Queue } from 'bullmq';
import { taskIdOfJob } from './bull-board-reprocess.js';
import type { Actor } from './operator.js';
import type { ReprocessResult, TaskAdmin } from './task-admin.js';

/** The finished states whose jobs a bulk re-process takes (Bull Board's "Retry all" offers both). */
export type FinishedState = 'completed' | 'failed';

/** Why a job was left where it is: a re-process refusal, or not a task's job at all. */
export type BulkRefusal = Extract<ReprocessResult, { ok: false }>['reason'] | 'not_a_task_job';

/**
 * What one bulk request did. `retried` and `skipped` are Bull Board's own answer to "Retry all"
 * (its UI reads both); `skipped` is, as there, the jobs counted in the state at the start that
 * were not re-run: refused, past the cap, or gone meanwhile. `refused` counts refusals by reason.
 */
export interface BulkReprocessResult {
  retried: number;
  skipped: number;
  refused: Partial<Record<BulkRefusal, number>>;
}

export interface BulkReprocessDeps {
  tasks: TaskAdmin;
  /** The callbacks queue. */
  queue: Queue;
  /** Jobs re-run per request at most (`DASHBOARD_RETRY_ALL_MAX`). */
  maxJobs: number;
}

/** Job ids read per page. */
const PAGE = 100;
/**
 * Jobs looked at per request, as a multiple of `maxJobs`: refused jobs stay in the state, so a
 * request pages past them, but a state full of them must not make one request read them all.
 */
const SCAN_FACTOR = 10;

/**
 * Re-processes the jobs in `state` one by one, oldest first, exactly as the per-task
 * `reprocess` does (record back to `accepted`, revision + 1, stored objects dropped, audit
 * entry, then the job moved), at most `maxJobs` of them. Oldest first because a re-run job that
 * finishes comes back as the newest: pressing "Retry all" again goes on with the jobs not yet
 * re-run instead of the ones just done. A refused job (conflict open, a superseded outcome's
 * job, no record) stays where it is, as the per-task API leaves it.
 */
export async function reprocessAll(
  deps: BulkReprocessDeps,
  state: FinishedState,
  actor: Actor,
): Promise<BulkReprocessResult> {
  const { queue, tasks, maxJobs } = deps;
  // Counted first, as Bull Board does: a job finishing meanwhile is not reported as skipped.
  const total = (await queue.getJobCounts(state))[state] ?? 0;
  const seen = new Set<string>();
  const refused: Partial<Record<BulkRefusal, number>> = {};
  let retried = 0;
  /** Jobs looked at that are still in the state: the next page starts after them. */
  let stayed = 0;
  const refuse = (reason: BulkRefusal) => {
    refused[reason] = (refused[reason] ?? 0) + 1;
    // `in_progress`: someone else moved it on meanwhile, out of the state.
    if (reason !== 'in_progress') stayed += 1;
  };

  scan: while (retried < maxJobs && seen.size < maxJobs * SCAN_FACTOR) {
    const ids = await queue.getRanges([state], stayed, stayed + PAGE - 1, true);
    // A job re-run in this request that finished already is back at the end: not again.
    const fresh = ids.filter((id) => !seen.has(id));
    if (fresh.length === 0) break;
    for (const jobId of fresh) {
      if (retried >= maxJobs || seen.size >= maxJobs * SCAN_FACTOR) break scan;
      seen.add(jobId);
      const taskId = taskIdOfJob(jobId);
      if (taskId === undefined) {
        refuse('not_a_task_job');
        continue;
      }
      const result = await tasks.reprocess(taskId, actor, { jobId, reason: `Bull Board: Retry all ${state}` });
      if (result.ok) retried += 1;
      else refuse(result.reason);
    }
  }
  return { retried, skipped: Math.max(0, total - retried), refused };
}
