import { type ReadinessCheck, registerOpsRoutes } from '@runway-relay/runtime';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/** The worker's small HTTP listener: `/healthz`, `/readyz` (Redis and storage), `/metrics`. */
export function buildOpsServer(registry: Registry, checks: Record<string, ReadinessCheck>): FastifyInstance {
  const app = Fastify({ logger: false });
  registerOpsRoutes(app, { registry, checks });
  return app;
}
