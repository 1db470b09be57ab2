import { HttpError, notFound } from '@runway-relay/runtime';
import type { ReprocessResult } from './task-admin.js';

/**
 * Why a task was not re-processed, as the HTTP error its caller answers: the admin API's
 * `POST /api/tasks/:id/reprocess` throws it, Bull Board's per-job Retry hook sends it.
 */
export function reprocessRefusal(taskId: string, refusal: Extract<ReprocessResult, { ok: false }>): HttpError {
  switch (refusal.reason) {
    case 'not_found':
      return notFound(`no task ${taskId}`);
    case 'in_progress':
      return new HttpError(
        409,
        'in_progress',
        `job ${refusal.jobId} is ${refusal.state}: it has not finished, nothing to re-process`,
      );
    case 'conflict_open':
      return new HttpError(
        409,
        'conflict_open',
        `task ${taskId} has an open conflict: resolve it (POST /api/tasks/${taskId}/conflict), which re-runs the side kept`,
      );
    case 'job_removed':
      return new HttpError(
        409,
        'job_removed',
        `the job ${refusal.jobId} was removed by retention together with the media URLs; the callback must be re-sent`,
      );
    case 'other_job':
      return new HttpError(
        409,
        'other_job',
        `that job is not task ${taskId}'s current job (${refusal.jobId}): its outcome was superseded, nothing to re-run`,
      );
  }
}
