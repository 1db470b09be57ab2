import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Methods that change nothing; every other method is guarded. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
/** `Sec-Fetch-Site` values of requests made by the dashboard's own pages or typed by the user. */
const OWN_SITE: ReadonlySet<string> = new Set(['same-origin', 'none']);

/** The media type of a `Content-Type` header, lower-case, without parameters. */
function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase();
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Host (and port) of an `Origin` header; undefined when it is `null` or not a URL. */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Why a state-changing request is refused, or undefined when it may go on. */
export function crossSiteProblem(
  request: FastifyRequest,
): { status: 403 | 415; error: string; message: string } | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined;
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  const host = request.headers.host?.toLowerCase();
  if ((typeof site === 'string' && !OWN_SITE.has(site)) || (origin !== undefined && originHost(origin) !== host)) {
    return {
      status: 403,
      error: 'cross_site_request',
      message: 'state-changing requests must come from the dashboard itself (Origin / Sec-Fetch-Site)',
    };
  }
  const type = mediaType(request.headers['content-type']);
  if ((type !== undefined || hasBody(request)) && type !== 'application/json') {
    return {
      status: 415,
      error: 'unsupported_media_type',
      message: 'state-changing requests take application/json (or no body and no Content-Type)',
    };
  }
  return undefined;
}

/**
 * Refuses state-changing requests that another site can make a browser send with the
 * cached basic-auth credentials (CSRF): a foreign `Origin`, a `Sec-Fetch-Site` other than
 * same-origin, or a body that is not JSON. A cross-site form can only send
 * `text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data`, and JSON
 * across sites needs a CORS preflight that this server never grants. A request without a
 * body and without a Content-Type passes (curl, and Bull Board's UI, whose bodyless PUTs
 * carry none); a browser always adds `Origin` to such a request from another site. Clients
 * without these headers (curl, scripts) are not browsers and are let through.
 */
export function registerSameOriginGuard(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const problem = crossSiteProblem(request);
    if (problem === undefined) {
      done();
      return;
    }
    // Header values are the sender's: bounded before they reach the log.
    const origin = request.headers.origin?.slice(0, 200);
    const site = String(request.headers['sec-fetch-site'] ?? '').slice(0, 40) || undefined;
    request.log.warn(
      { method: request.method, status: problem.status, origin, site },
      'request refused: cross-site or not JSON',
    );
    void reply.code(problem.status).send({ error: problem.error, message: problem.message });
  });
}
