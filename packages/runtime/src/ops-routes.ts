import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { withTimeout } from './with-timeout.js';

/** A readiness probe: resolves when the dependency answers, rejects (or times out) otherwise. */
export type ReadinessCheck = () => Promise<unknown>;

export interface OpsRoutesOptions {
  registry: Registry;
  /** Named checks for `/readyz`, e.g. `{ redis: () => redis.ping() }`. */
  checks: Record<string, ReadinessCheck>;
  /** ms each check may take. */
  checkTimeoutMs?: number;
  /**
   * The start step a service is still waiting for (see `createStartupProgress`): while it
   * returns a text, `/readyz` answers 503 with it under `start`.
   */
  starting?: () => string | undefined;
  /**
   * Facts shown in `/readyz`'s body next to the checks (e.g. `provider_verify: "off"`); they
   * describe the configuration and never make it answer 503.
   */
  info?: Record<string, string>;
}

/**
 * `GET /healthz` (the process answers), `GET /readyz` (every dependency answers: 200 or 503
 * with the failing names) and `GET /metrics` (Prometheus text format).
 */
export function registerOpsRoutes(app: FastifyInstance, options: OpsRoutesOptions): void {
  const timeout = options.checkTimeoutMs ?? 1000;
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const results: Array<readonly [string, string]> = await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), timeout);
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, error instanceof Error ? error.message : 'failed'] as const;
        }
      }),
    );
    const step = options.starting?.();
    if (step !== undefined) results.push(['start', step]);
    const ready = results.every(([, result]) => result === 'ok');
    return reply
      .code(ready ? 200 : 503)
      .send({ ...options.info, status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) });
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    return reply.type(options.registry.contentType).send(await options.registry.metrics());
  });
}
