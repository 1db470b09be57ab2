import { createHash, timingSafeEqual } from 'node:crypto';
import fastifyBasicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';

/** Realm announced in `WWW-Authenticate`, so browsers show a login prompt. */
export const AUTH_REALM = 'runway-relay';

export interface BasicAuthOptions {
  user: string;
  password: string;
  /** Paths answered without credentials (probes of the orchestrator). */
  openPaths: ReadonlySet<string>;
}

/** Compares in time independent of where the strings differ; hashing first hides the lengths too. */
function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Puts every route but `openPaths` behind HTTP basic auth, Bull Board included (it has no
 * auth of its own). The 401 is sent from the hook itself rather than thrown: Bull Board's
 * routes live in a plugin with its own error handler, which would turn the error into a 500.
 */
export function registerBasicAuth(app: FastifyInstance, options: BasicAuthOptions): void {
  void app.register(fastifyBasicAuth, {
    authenticate: { realm: AUTH_REALM },
    validate: async (user, password, request) => {
      // Both comparisons always run, so the time does not tell which one failed.
      const userOk = constantTimeEqual(user, options.user);
      const passwordOk = constantTimeEqual(password, options.password);
      if (!(userOk && passwordOk)) {
        // The app's logger, not the request's: ops routes raise their request loggers to warn.
        app.log.warn({ req_id: request.id, ip: request.ip }, 'dashboard authentication failed');
        throw new Error('invalid credentials');
      }
    },
  });
  app.addHook('onRequest', (request, reply, done) => {
    const path = request.url.split('?')[0] ?? '';
    if (options.openPaths.has(path)) {
      done();
      return;
    }
    // Looked up per request: the decorator exists once the plugin above has loaded.
    app.basicAuth(request, reply, (error) => {
      if (error === undefined || error === null) {
        done();
        return;
      }
      // The plugin has already set WWW-Authenticate on the reply.
      void reply.code(401).send({ error: 'unauthorized', message: 'valid basic-auth credentials are required' });
    });
  });
}
