import type { RelayKeys } from '@runway-relay/contracts';
import { FailureCategorySchema, TaskIdSchema, TaskStatusSchema } from '@runway-relay/contracts';
import { HttpError, notFound, parseInput, type RedisClient } from '@runway-relay/runtime';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConflictAdmin } from '../conflict-admin.js';
import { operatorOf } from '../operator.js';
import { reprocessRefusal } from '../reprocess-refusal.js';
import type { TaskAdmin } from '../task-admin.js';
import { BadCursorError, listTasks } from '../task-list.js';

const TaskParamsSchema = z.object({ taskId: TaskIdSchema });
const ResolveBodySchema = z.strictObject({ keep: z.enum(['accepted', 'conflicting']) });
const ReprocessBodySchema = z.strictObject({ reason: z.string().min(1).max(500).optional() });

/** An ISO 8601 time (with offset) or ms since the epoch, as a number of ms. */
const TimeParam = z.union(
  [
    z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
    z
      .string()
      .regex(/^\d{1,15}$/)
      .transform(Number),
  ],
  { error: 'must be an ISO 8601 time such as 2025-01-02T03:04:05Z, or ms since the epoch' },
);

const ListQuerySchema = z
  .strictObject({
    status: TaskStatusSchema.optional(),
    category: FailureCategorySchema.optional(),
    since: TimeParam.optional(),
    until: TimeParam.optional(),
    cursor: z.string().min(1).max(512).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => q.since === undefined || q.until === undefined || q.since <= q.until, {
    path: ['until'],
    message: 'must not be before since',
  });

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
  /** For the listing, which reads the task indexes directly. */
  redis: RedisClient;
  keys: RelayKeys;
  conflicts: ConflictAdmin;
  /** Called after each accepted retry (metrics). */
  onRetried?: () => void;
}

export function registerTaskRoutes(
  app: FastifyInstance,
  { tasks, conflicts, onRetried, redis, keys }: TaskRoutesOptions,
): void {
  /**
   * `GET /api/tasks?status=&category=&since=&until=&cursor=&limit=`: tasks newest first by
   * their last status change, `{"tasks":[…],"next_cursor":…}` (docs/dashboard.md, "Listing tasks").
   */
  app.get('/api/tasks', async (request) => {
    const query = parseInput(ListQuerySchema, request.query);
    try {
      return await listTasks(redis, keys, {
        status: query.status,
        category: query.category,
        sinceMs: query.since,
        untilMs: query.until,
        cursor: query.cursor,
        limit: query.limit,
      });
    } catch (error) {
      if (error instanceof BadCursorError) throw new HttpError(400, 'invalid_request', `cursor: ${error.message}`);
      throw error;
    }
  });

  /**
   * `POST /api/tasks/:taskId/reprocess` with an optional `{"reason": "…"}`: runs a finished
   * task again on purpose (202), with an audit line and an audit entry on the task.
   */
  app.post('/api/tasks/:taskId/reprocess', async (request, reply) => {
    const { taskId } = parseInput(TaskParamsSchema, request.params);
    const { reason } = parseInput(ReprocessBodySchema, request.body ?? {});
    const result = await tasks.reprocess(taskId, { operator: operatorOf(request), via: 'admin_api' }, { reason });
    if (result.ok) {
      return reply.code(202).send({
        status: 'reprocessing',
        job_id: result.jobId,
        revision: result.revision,
        from_status: result.fromStatus,
      });
    }
    throw reprocessRefusal(taskId, result);
  });

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
    const result = await tasks.retry(taskId, { operator: operatorOf(request), via: 'admin_api' });
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
