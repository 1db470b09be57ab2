import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface RequestLogOptions {
  /** Requests that write no line: an address refused for failed logins must not flood the log. */
  quiet: (request: FastifyRequest) => boolean;
  /** Routes logged at debug: probes and scrapes would drown the log. */
  probePaths: ReadonlySet<string>;
}

/**
 * One line per request, written when it ends (method, path without query string, status,
 * latency), instead of Fastify's two (`incoming request` + `request completed`). Fastify's own
 * request logging must be off (`disableRequestLogging: true`).
 */
export function registerRequestLog(app: FastifyInstance, options: RequestLogOptions): void {
  app.addHook('onResponse', async (request, reply) => {
    if (options.quiet(request)) return;
    const level = options.probePaths.has(request.routeOptions.url ?? '')
      ? 'debug'
      : reply.statusCode >= 500
        ? 'error'
        : 'info';
    request.log[level](
      {
        method: request.method,
        url: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request completed',
    );
  });
}
