import fastifyBasicAuth from '@fastify/basic-auth';
import fastifyRateLimit from '@fastify/rate-limit';
import { constantTimeEqual } from '@runway-relay/runtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ThrottledAddresses } from './throttled-addresses.js';

/** Realm announced in `WWW-Authenticate`, so browsers show a login prompt. */
export const AUTH_REALM = 'runway-relay';

/** "dashboard authentication failed" lines written per address and window; the rest are counted. */
export const LOGGED_FAILURES_PER_WINDOW = 3;

export interface BasicAuthOptions {
  user: string;
  password: string;
  /** Paths answered without credentials (probes of the orchestrator). */
  openPaths: ReadonlySet<string>;
  /** Failed attempts allowed per address and window; then every request from it gets 429. */
  maxFailures: number;
  /** Length of that window, in ms (a fixed window from the first failure). */
  windowMs: number;
  /** Called for each request refused with 429 (metrics). */
  onThrottled?: () => void;
  /** Where refused addresses are recorded (the request logger skips them). */
  throttled?: ThrottledAddresses;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * Puts every route but `openPaths` behind HTTP basic auth, Bull Board included (it has no
 * auth of its own). The 401 is sent from the hook itself rather than thrown: Bull Board's
 * routes live in a plugin with its own error handler, which would turn the error into a 500.
 *
 * Failed attempts are counted per address with `@fastify/rate-limit` (only failures: a
 * working client is never slowed down). After `maxFailures` in a window, every request from
 * that address is answered 429 with `Retry-After` until the window ends, right credentials
 * included, so that guessing cannot continue and a 200 cannot reveal the password. The
 * failure log line is written for the first {@link LOGGED_FAILURES_PER_WINDOW} failures of
 * a window, then one "throttled" line says how many there were.
 */
export function registerBasicAuth(app: FastifyInstance, options: BasicAuthOptions): void {
  void app.register(fastifyRateLimit, { global: false });
  let limiter: Limiter | undefined;
  // Looked up on first use: the decorator exists once the plugin above has loaded.
  const failures = (): Limiter => {
    limiter ??= app.createRateLimit({
      max: options.maxFailures,
      timeWindow: options.windowMs,
      keyGenerator: (request) => request.ip,
    });
    return limiter;
  };

  void app.register(fastifyBasicAuth, {
    authenticate: { realm: AUTH_REALM },
    validate: async (user, password, request) => {
      // Both comparisons always run, so the time does not tell which one failed.
      const userOk = constantTimeEqual(user, options.user);
      const passwordOk = constantTimeEqual(password, options.password);
      if (!(userOk && passwordOk)) {
        await recordFailure(app, request, failures(), options);
        throw new Error('invalid credentials');
      }
    },
  });
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (options.openPaths.has(path)) return;
    const status = await failures()(request, { increment: false });
    if (!status.isAllowed && status.remaining === 0) {
      options.onThrottled?.();
      options.throttled?.mark(request.ip, status.ttl);
      return reply
        .code(429)
        .header('retry-after', String(Math.max(1, status.ttlInSeconds)))
        .send({ error: 'too_many_failed_logins', message: 'too many failed logins from this address, retry later' });
    }
    // Looked up per request: the decorator exists once the plugin above has loaded.
    const error = await new Promise<Error | undefined | null>((resolve) => {
      app.basicAuth(request, reply, (err) => resolve(err));
    });
    if (error === undefined || error === null) return;
    // The plugin has already set WWW-Authenticate on the reply.
    return reply.code(401).send({ error: 'unauthorized', message: 'valid basic-auth credentials are required' });
  });
}

/** Counts one failed attempt of the request's address and logs it, sampled. */
async function recordFailure(
  app: FastifyInstance,
  request: FastifyRequest,
  limiter: Limiter,
  options: BasicAuthOptions,
): Promise<void> {
  const status = await limiter(request);
  if (status.isAllowed) return;
  const count = status.max - status.remaining;
  // The app's logger, not the request's: ops routes raise their request loggers to warn.
  if (count <= LOGGED_FAILURES_PER_WINDOW) {
    app.log.warn({ req_id: request.id, ip: request.ip, attempt: count }, 'dashboard authentication failed');
  }
  // Exactly at the limit: once per window even when several failures race past it.
  if (count === status.max) {
    options.throttled?.mark(request.ip, status.ttl);
    app.log.warn(
      { ip: request.ip, failures: count, retry_after_s: status.ttlInSeconds },
      'dashboard authentication throttled',
    );
  }
}
