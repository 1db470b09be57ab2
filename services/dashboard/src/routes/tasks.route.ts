import { TaskIdSchema } from '@runway-relay/contracts';
import { HttpError, notFound, parseInput } from '@runway-relay/runtime';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConflictAdmin } from '../conflict-admin.js';
import type { TaskAdmin } from '../task-admin.js';

const TaskParamsSchema = z.object({ taskId: TaskIdSchema });
const ResolveBodySchema = z.strictObject({ keep: z.enum(['accepted', 'conflicting']) });

/**
 * `GET /api/tasks/:taskId`: the task record, its stored objects (presigned URLs) and jobs.
 *
 * `POST /api/tasks/:taskId/retry`: re-runs a failed task (202). 409 `not_failed` when its job
 * is not in the failed state; 409 `job_removed` when the task failed but retention
 * (`JOB_KEEP_FAILED_S`) already removed the job — its data, the signed media URLs, went
 * with it, so only a new delivery of the callback can start the task again.
 */
export interface TaskRoutesOptions {
  tasks: TaskAdmin;
  conflicts: ConflictAdmin;
  /** Called after each accepted retry (metrics). */
  onRetried?: () => void;
}

export function registerTaskRoutes(app: FastifyInstance, { tasks, conflicts, onRetried }: TaskRoutesOptions): void {
  /**
   * `POST /api/tasks/:taskId/conflict` with `{"keep": "accepted" | "conflicting"}`: ends an open
   * conflict (two authenticated callbacks that disagree) and re-runs the task with the side
   * kept (202). 409 `no_conflict` when the task has none open.
   */
  app.post('/api/tasks/:taskId/conflict', async (request, reply) => {
    const { taskId } = parseInput(TaskParamsSchema, request.params);
    const { keep } = parseInput(ResolveBodySchema, request.body ?? {});
    const result = await conflicts.resolve(taskId, keep, 'operator');
    if (result.ok) return reply.code(202).send({ status: 'resolved', kept: result.kept, job_id: result.jobId });
    switch (result.reason) {
      case 'not_found':
        throw notFound(`no task ${taskId}`);
      case 'no_conflict':
        throw new HttpError(409, 'no_conflict', `task ${taskId} has no open conflict`);
      case 'job_removed':
        throw new HttpError(
          409,
          'job_removed',
          `the accepted callback's job ${result.jobId} was removed by retention; keep the conflicting side or re-send the callback`,
        );
    }
  });

  app.get('/api/tasks/:taskId', async (request) => {
    const { taskId } = parseInput(TaskParamsSchema, request.params);
    const view = await tasks.get(taskId);
    if (view === null) throw notFound(`no task ${taskId}`);
    return view;
  });

  app.post('/api/tasks/:taskId/retry', async (request, reply) => {
    const { taskId } = parseInput(TaskParamsSchema, request.params);
    const result = await tasks.retry(taskId);
    if (result.ok) {
      onRetried?.();
      return reply.code(202).send({ status: 'retrying', job_id: result.jobId });
    }
    switch (result.reason) {
      case 'not_found':
        throw notFound(`no task ${taskId}`);
      case 'not_failed':
        throw new HttpError(409, 'not_failed', `job ${result.jobId} is ${result.state}, not failed: nothing to retry`);
      case 'job_removed':
        throw new HttpError(
          409,
          'job_removed',
          `task ${taskId} failed, but its job ${result.jobId} was removed by retention (JOB_KEEP_FAILED_S) together with the media URLs; it cannot be retried here: the callback must be re-sent (see docs/dashboard.md)`,
        );
    }
  });
}
