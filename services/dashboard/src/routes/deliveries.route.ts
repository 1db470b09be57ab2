import { TaskIdSchema } from '@runway-relay/contracts';
import type { DeliveryCore } from '@runway-relay/delivery';
import { HttpError, notFound, parseInput } from '@runway-relay/runtime';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DeliveryAdmin } from '../delivery-admin.js';
import { operatorOf } from '../operator.js';

const TaskParamsSchema = z.object({ taskId: TaskIdSchema });
const MessageParamsSchema = z.object({
  id: z.string().regex(/^msg_[0-9a-f]{32}$/, 'must be a message id (msg_ and 32 hex digits)'),
});

/**
 * A task's webhook messages with their attempts, and the replay of one message (same
 * `webhook-id`, a new job) (docs/dashboard.md, "Webhook delivery").
 */
export function registerDeliveryRoutes(app: FastifyInstance, core: DeliveryCore, admin: DeliveryAdmin): void {
  app.get('/api/tasks/:taskId/deliveries', async (request) => {
    const { taskId } = parseInput(TaskParamsSchema, request.params);
    const deliveries = await admin.taskDeliveries(taskId);
    if (deliveries === null) throw notFound(`no events or webhook messages for task ${taskId}`);
    return { task_id: taskId, deliveries };
  });

  app.post('/api/deliveries/:id/replay', async (request, reply) => {
    const { id } = parseInput(MessageParamsSchema, request.params);
    const message = await core.log.get(id);
    if (message === null) throw notFound(`no message ${id} (unknown, or past DELIVERY_LOG_RETENTION_S)`);
    if (message.status === 'pending') {
      throw new HttpError(409, 'message_pending', `message ${id} is still being delivered: wait for it to end`);
    }
    const endpoint = await core.endpoints.view(message.endpoint_id);
    if (endpoint === null) throw new HttpError(409, 'endpoint_deleted', `endpoint ${message.endpoint_id} was deleted`);
    if (!endpoint.enabled) {
      throw new HttpError(409, 'endpoint_disabled', `endpoint ${endpoint.id} is disabled: enable it first`);
    }
    const jobId = await core.replay.message(id);
    request.log.info(
      { task_id: message.event.task_id, message_id: id, job_id: jobId, operator: operatorOf(request) },
      'webhook message replayed',
    );
    return reply.code(202).send({ message_id: id, job_id: jobId });
  });
}
