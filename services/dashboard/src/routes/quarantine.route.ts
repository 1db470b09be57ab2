import { QuarantineIdSchema } from '@runway-relay/contracts';
import { notFound, parseInput } from '@runway-relay/runtime';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { operatorOf } from '../operator.js';
import type { QuarantineAdmin } from '../quarantine-admin.js';

const ParamsSchema = z.object({ id: QuarantineIdSchema });
const ListQuerySchema = z.strictObject({
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
/** An edited body replaces the quarantined one; without it the body is replayed as kept. */
const ReplayBodySchema = z.strictObject({ body: z.unknown().optional() });

/**
 * The quarantine of authenticated callbacks that failed the schema (docs/dashboard.md,
 * "Quarantine"): list, inspect, replay (optionally with a corrected body), discard.
 */
export function registerQuarantineRoutes(app: FastifyInstance, quarantine: QuarantineAdmin): void {
  app.get('/api/quarantine', async (request) => {
    const { offset, limit } = parseInput(ListQuerySchema, request.query);
    const { entries, total } = await quarantine.list({ offset, limit });
    return { entries, total, next_offset: offset + limit < total ? offset + limit : null };
  });

  app.get('/api/quarantine/:id', async (request) => {
    const { id } = parseInput(ParamsSchema, request.params);
    const entry = await quarantine.get(id);
    if (entry === null) throw notFound(`no quarantined body ${id}`);
    return entry;
  });

  app.post('/api/quarantine/:id/replay', async (request, reply) => {
    const { id } = parseInput(ParamsSchema, request.params);
    const { body } = parseInput(ReplayBodySchema, request.body ?? {});
    const result = await quarantine.replay(id, { operator: operatorOf(request), via: 'admin_api' }, body);
    if (result.ok) {
      return reply.code(202).send({ status: 'replayed', decision: result.decision, task_id: result.taskId });
    }
    if (result.reason === 'not_found') throw notFound(`no quarantined body ${id}`);
    const fields = result.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    return reply.code(422).send({
      error: 'invalid_callback',
      message: `the body still fails the callback schema, nothing changed: ${fields}`,
      details: result.issues,
    });
  });

  app.delete('/api/quarantine/:id', async (request, reply) => {
    const { id } = parseInput(ParamsSchema, request.params);
    if (!(await quarantine.discard(id, { operator: operatorOf(request), via: 'admin_api' }))) {
      throw notFound(`no quarantined body ${id}`);
    }
    return reply.code(204).send();
  });
}
