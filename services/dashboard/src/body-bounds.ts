import type { FastifyInstance } from 'fastify';

/**
 * Largest request body of any admin route. Admin bodies are small (an endpoint is a few
 * hundred bytes, a generate request at most ~40 KiB of labels and prompt); an edited
 * quarantine body is held to the ingress's default `BODY_LIMIT_BYTES`, so the dashboard
 * cannot admit a callback the ingress would have refused for its size.
 */
export const ADMIN_BODY_LIMIT = 64 * 1024;

/** Deepest JSON nesting taken, as at the ingress: real bodies are a few levels deep. */
export const MAX_JSON_DEPTH = 32;

/**
 * True when `value` nests arrays/objects deeper than `limit`. Walked with an explicit stack:
 * the values it refuses are the ones that overflow recursive code (BullMQ's JSON.stringify of
 * job data, Redis's cjson at 1000 levels).
 */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Refuses parsed bodies nested deeper than {@link MAX_JSON_DEPTH} with 400 `body_too_deep`,
 * before any route (Bull Board's included) sees them. Answered from the hook rather than
 * thrown, because Bull Board's plugin has its own error handler, which would make it a 500.
 */
export function registerBodyBounds(app: FastifyInstance): void {
  app.addHook('preValidation', async (request, reply) => {
    if (request.body === undefined || request.body === null) return;
    if (!jsonDepthExceeds(request.body, MAX_JSON_DEPTH)) return;
    return reply
      .code(400)
      .send({ error: 'body_too_deep', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels, nothing changed` });
  });
}
