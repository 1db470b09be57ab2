import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';

/**
 * An HTTP error with a stable machine-readable `error` code. Every service answers errors with
 * one body shape, `{"error": "<code>", "message": "…"}` (plus `details` where a route lists
 * problems, e.g. the ingress's 422), so a client handles both services' errors alike.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (message: string) => new HttpError(404, 'not_found', message);

/**
 * Parses request input with `schema`; a failure is a 400 `invalid_request` whose message names
 * each offending field, e.g. `taskId: must be 1-128 characters of A-Z a-z 0-9 . _ -`.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
  throw new HttpError(400, 'invalid_request', problems.join('; '));
}

/** Fastify's own client errors, by Fastify code, mapped to our codes (docs/ingress.md lists them). */
export const FASTIFY_ERROR_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

/** Client errors Fastify raises without one of the codes above, by status. */
const STATUS_ERROR_CODES: Readonly<Record<number, string>> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  415: 'unsupported_media_type',
};

/** The `error` code of one of Fastify's own client errors; `bad_request` when it has none of ours. */
export function fastifyErrorCode(error: Pick<FastifyError, 'code'>, status: number): string {
  return FASTIFY_ERROR_CODES[error.code] ?? STATUS_ERROR_CODES[status] ?? 'bad_request';
}

export interface HttpErrorHandlingOptions {
  /** How a URL appears in the 404 message and logs: no query string, no secret path segment. */
  loggableUrl: (url: string) => string;
  /** Told the `error` code of every error answered by the error handler (e.g. for metrics). */
  onRejected?: (request: FastifyRequest, code: string) => void;
  /** Fields added to the log line of an unhandled error (e.g. `task_id`). */
  logFields?: (request: FastifyRequest) => Record<string, unknown>;
  /** An error to answer instead of the plain 500, when it explains the failure better (e.g. a 503 while Redis is away). */
  serverError?: () => HttpError | undefined;
}

/**
 * Installs the error and not-found handlers every service shares: an {@link HttpError} is
 * answered as it says; Fastify's own 4xx (body too large, bad content type, invalid JSON, …)
 * with its status and one of our codes; anything else is logged and answered 500
 * `internal_error` without its message, which could carry internals.
 */
export function registerHttpErrorHandling(app: FastifyInstance, options: HttpErrorHandlingOptions): void {
  const send = (request: FastifyRequest, reply: FastifyReply, error: HttpError) => {
    options.onRejected?.(request, error.error);
    if (error.headers) void reply.headers(error.headers);
    return reply.code(error.statusCode).send({ error: error.error, message: error.message, details: error.details });
  };
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) return send(request, reply, error);
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (status < 500)
      return send(request, reply, new HttpError(status, fastifyErrorCode(error, status), error.message));
    request.log.error({ err: error, ...options.logFields?.(request) }, 'unhandled error');
    return send(request, reply, options.serverError?.() ?? new HttpError(500, 'internal_error', 'internal error'));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${options.loggableUrl(request.url)}` }),
  );
}
