import { type ReadinessCheck, registerOpsRoutes } from '@runway-relay/runtime';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/**
 * The worker's small HTTP listener: `/healthz`, `/readyz` (Redis, storage and, while the
 * worker starts, the step it waits for; `info` adds facts such as `provider_verify`) and `/metrics`.
 */
export function buildOpsServer(
  registry: Registry,
  checks: Record<string, ReadinessCheck>,
  starting?: () => string | undefined,
  info?: Record<string, string>,
): FastifyInstance {
  const app = Fastify({ logger: false });
  registerOpsRoutes(app, { registry, checks, ...(starting ? { starting } : {}), ...(info ? { info } : {}) });
  return app;
}
