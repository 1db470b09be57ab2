import { TaskIdSchema } from '@runway-relay/contracts';
import type { FastifyInstance } from 'fastify';
import { BULL_BOARD_PATH } from './bull-board.js';
import { operatorOf } from './operator.js';
import { reprocessRefusal } from './reprocess-refusal.js';
import type { TaskAdmin } from './task-admin.js';

/** Bull Board's "retry one job" call: `PUT <base>/api/queues/<queue>/<job id>/retry`. */
const RETRY_JOB = new RegExp(`^${BULL_BOARD_PATH}/api/queues/[^/]+/([^/]+)/retry$`);
/** Job ids are `<task_id>.<outcome>` (see `jobIdFor`). */
const JOB_ID = /^(?<taskId>.+)\.(?:success|failure)$/;

/** The task a callbacks-queue job belongs to, or undefined when the id is not a task job's. */
export function taskIdOfJob(jobId: string): string | undefined {
  const taskId = TaskIdSchema.safeParse(JOB_ID.exec(jobId)?.groups?.taskId);
  return taskId.success ? taskId.data : undefined;
}

/**
 * Makes Bull Board's retry of a finished job a re-process with an audit trail: before Bull
 * Board moves the job, the task record is prepared exactly as `POST /api/tasks/:id/reprocess`
 * prepares it (status, revision, stored objects, audit entry with the operator). Without it a
 * retried completed job would find its task `stored` and do nothing. A task the API would
 * refuse to re-process is refused here too, with the same 409 and nothing moved, as "Retry all"
 * leaves it in place: an open conflict (resolve it instead) or a job that is not the task's
 * current one (a superseded outcome). Jobs not finished, or gone, are left to Bull Board's own
 * answer.
 */
export function registerBullBoardReprocess(app: FastifyInstance, tasks: TaskAdmin): void {
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'PUT') return;
    const match = RETRY_JOB.exec(request.url.split('?')[0] ?? '');
    if (!match?.[1]) return;
    let jobId: string;
    try {
      jobId = decodeURIComponent(match[1]);
    } catch {
      return;
    }
    const taskId = taskIdOfJob(jobId);
    if (taskId === undefined) return;
    const result = await tasks.reprocess(
      taskId,
      { operator: operatorOf(request), via: 'bull_board' },
      { moveJob: false, jobId },
    );
    if (result.ok) return;
    request.log.info(
      { task_id: taskId, job_id: jobId, reason: result.reason },
      'Bull Board retry: task record left as it is',
    );
    if (result.reason !== 'conflict_open' && result.reason !== 'other_job') return;
    // Answered here in our error shape: Bull Board's routes have an error handler of their own.
    const refusal = reprocessRefusal(taskId, result);
    return reply.code(refusal.statusCode).send({ error: refusal.error, message: refusal.message });
  });
}
