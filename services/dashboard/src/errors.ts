import type { z } from 'zod';

/** An HTTP error with a stable machine-readable `error` code (the JSON body's `error` field). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (message: string) => new HttpError(404, 'not_found', message);

/**
 * Parses request input with `schema`; a failure is a 400 whose message names each
 * offending field, e.g. `taskId: must be 1-128 characters of A-Z a-z 0-9 . _ -`.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
  throw new HttpError(400, 'invalid_request', problems.join('; '));
}
