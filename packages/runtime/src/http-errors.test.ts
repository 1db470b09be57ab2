import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HttpError, type HttpErrorHandlingOptions, parseInput, registerHttpErrorHandling } from './http-errors.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function build(options: Partial<HttpErrorHandlingOptions> = {}, rejected: string[] = []): FastifyInstance {
  app = Fastify({ logger: false, bodyLimit: 64 });
  registerHttpErrorHandling(app, {
    loggableUrl: (url) => url.split('?')[0] ?? '',
    onRejected: (_request, code) => rejected.push(code),
    ...options,
  });
  app.post('/echo', async (request) => ({ body: request.body }));
  app.get('/teapot', async () => {
    throw new HttpError(418, 'teapot', 'short and stout', [{ path: 'spout' }], { 'retry-after': '7' });
  });
  app.get('/boom', async () => {
    throw new Error('secret internals');
  });
  app.get('/parse', async (request) => parseInput(z.object({ n: z.coerce.number().int() }), request.query));
  return app;
}

describe('registerHttpErrorHandling', () => {
  it('answers an HttpError with its status, code, message, details and headers', async () => {
    const rejected: string[] = [];
    const response = await build({}, rejected).inject({ method: 'GET', url: '/teapot' });
    expect(response.statusCode).toBe(418);
    expect(response.headers['retry-after']).toBe('7');
    expect(response.json()).toEqual({ error: 'teapot', message: 'short and stout', details: [{ path: 'spout' }] });
    expect(rejected).toEqual(['teapot']);
  });

  it.each([
    [
      'a body over the limit',
      { 'content-type': 'application/json' },
      JSON.stringify({ x: 'y'.repeat(100) }),
      413,
      'body_too_large',
    ],
    ['a content type nobody parses', { 'content-type': 'application/xml' }, '<a/>', 415, 'unsupported_media_type'],
    ['invalid JSON', { 'content-type': 'application/json' }, '{"a":', 400, 'invalid_json'],
    ['an empty JSON body', { 'content-type': 'application/json' }, '', 400, 'empty_body'],
  ])('maps Fastify’s error for %s to %i %s', async (_what, headers, payload, status, code) => {
    const response = await build().inject({ method: 'POST', url: '/echo', headers, payload });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ error: code, message: expect.any(String) });
  });

  it('names each offending field of parsed input in a 400 invalid_request', async () => {
    const response = await build().inject({ method: 'GET', url: '/parse?n=1.5' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'invalid_request', message: expect.stringMatching(/^n: /) });
  });

  it('hides an unexpected error behind 500 internal_error', async () => {
    const response = await build().inject({ method: 'GET', url: '/boom' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: 'internal_error', message: 'internal error' });
    expect(response.body).not.toContain('secret');
  });

  it('answers the service’s own server error when it gives one', async () => {
    const unavailable = () => new HttpError(503, 'unavailable', 'redis is unavailable, retry later');
    const response = await build({ serverError: unavailable }).inject({ method: 'GET', url: '/boom' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: 'unavailable', message: 'redis is unavailable, retry later' });
  });

  it('answers an unknown route 404 not_found without its query string', async () => {
    const response = await build().inject({ method: 'GET', url: '/nowhere?token=secret' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found', message: 'no route GET /nowhere' });
  });
});
