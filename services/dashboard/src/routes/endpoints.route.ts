import {
  type DeliveryCore,
  EndpointCreateSchema,
  EndpointPatchSchema,
  EndpointReadOnlyError,
  EndpointUrlError,
  MessageStatusSchema,
} from '@runway-relay/delivery';
import { HttpError, notFound, parseInput } from '@runway-relay/runtime';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BadCursorError, type DeliveryAdmin } from '../delivery-admin.js';
import { operatorOf } from '../operator.js';

const ParamsSchema = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an endpoint id') });
const MessagesQuerySchema = z.strictObject({
  status: MessageStatusSchema.optional(),
  cursor: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const ReplaySinceSchema = z.strictObject({
  since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2025-01-02T03:04:05Z' }),
});

/** The store's refusals as HTTP errors: a refused URL is 422 naming why, a read-only endpoint 409. */
async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EndpointUrlError) throw new HttpError(422, 'endpoint_url_refused', `url: ${error.reason}`);
    if (error instanceof EndpointReadOnlyError) throw new HttpError(409, 'endpoint_read_only', error.message);
    throw error;
  }
}

/**
 * The webhook endpoints (docs/dashboard.md, "Webhook delivery"): create (the secret is shown in
 * full only in this answer and in a rotation's), list, read with health, change, rotate the
 * secret, delete, list messages, replay the failed ones since a time.
 */
export function registerEndpointRoutes(app: FastifyInstance, core: DeliveryCore, admin: DeliveryAdmin): void {
  const { endpoints } = core;

  app.post('/api/endpoints', async (request, reply) => {
    const input = parseInput(EndpointCreateSchema, request.body ?? {});
    const { endpoint, secret } = await translated(() => endpoints.create(input));
    request.log.info({ endpoint_id: endpoint.id, operator: operatorOf(request) }, 'webhook endpoint created');
    return reply.code(201).send({ endpoint, secret });
  });

  app.get('/api/endpoints', async () => ({ endpoints: await endpoints.list() }));

  app.get('/api/endpoints/:id', async (request) => {
    const { id } = parseInput(ParamsSchema, request.params);
    const found = await admin.health(id);
    if (found === null) throw notFound(`no endpoint ${id}`);
    return found;
  });

  app.patch('/api/endpoints/:id', async (request) => {
    const { id } = parseInput(ParamsSchema, request.params);
    const patch = parseInput(EndpointPatchSchema, request.body ?? {});
    if (Object.keys(patch).length === 0) throw new HttpError(400, 'invalid_request', 'nothing to change: empty body');
    const endpoint = await translated(() => endpoints.update(id, patch));
    if (endpoint === null) throw notFound(`no endpoint ${id}`);
    request.log.info(
      { endpoint_id: id, fields: Object.keys(patch), operator: operatorOf(request) },
      'endpoint changed',
    );
    return { endpoint };
  });

  app.post('/api/endpoints/:id/rotate-secret', async (request) => {
    const { id } = parseInput(ParamsSchema, request.params);
    const secret = await translated(() => endpoints.rotateSecret(id));
    if (secret === null) throw notFound(`no endpoint ${id}`);
    request.log.info({ endpoint_id: id, operator: operatorOf(request) }, 'endpoint secret rotated');
    return { endpoint: await endpoints.view(id), secret };
  });

  app.delete('/api/endpoints/:id', async (request, reply) => {
    const { id } = parseInput(ParamsSchema, request.params);
    if (!(await translated(() => endpoints.delete(id)))) throw notFound(`no endpoint ${id}`);
    request.log.info({ endpoint_id: id, operator: operatorOf(request) }, 'endpoint deleted');
    return reply.code(204).send();
  });

  app.get('/api/endpoints/:id/messages', async (request) => {
    const { id } = parseInput(ParamsSchema, request.params);
    const query = parseInput(MessagesQuerySchema, request.query);
    if ((await endpoints.view(id)) === null) throw notFound(`no endpoint ${id}`);
    try {
      return await admin.endpointMessages(id, query);
    } catch (error) {
      if (error instanceof BadCursorError) throw new HttpError(400, 'invalid_request', `cursor: ${error.message}`);
      throw error;
    }
  });

  app.post('/api/endpoints/:id/replay', async (request, reply) => {
    const { id } = parseInput(ParamsSchema, request.params);
    const { since } = parseInput(ReplaySinceSchema, request.body ?? {});
    const endpoint = await endpoints.view(id);
    if (endpoint === null) throw notFound(`no endpoint ${id}`);
    if (!endpoint.enabled) {
      throw new HttpError(409, 'endpoint_disabled', `endpoint ${id} is disabled: enable it first (PATCH enabled)`);
    }
    const jobIds = await core.replay.endpoint(id, Date.parse(since));
    request.log.info(
      { endpoint_id: id, since, replayed: jobIds.length, operator: operatorOf(request) },
      'endpoint messages replayed',
    );
    return reply.code(202).send({ replayed: jobIds.length, job_ids: jobIds });
  });
}
