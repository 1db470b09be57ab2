import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { BlockedAddressError } from './delivery-agent.js';

/** Most bytes of a response body kept in the log. */
export const RESPONSE_EXCERPT_BYTES = 1024;

export interface AttemptResponse {
  kind: 'response';
  status: number;
  retryAfter: string | undefined;
  excerpt: string;
  latencyMs: number;
}
export interface AttemptNetworkError {
  kind: 'error';
  /** `timeout`, `blocked` (SSRF policy) or `network`. */
  reason: 'timeout' | 'blocked' | 'network';
  message: string;
  latencyMs: number;
}

/**
 * Reads at most {@link RESPONSE_EXCERPT_BYTES} of a body, then drops the rest. The status has
 * been decided already: a body that stalls or breaks only shortens the excerpt.
 */
async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= RESPONSE_EXCERPT_BYTES) break;
    }
  } catch {
    // Timed out or reset mid-body: keep what came.
  }
  body.destroy();
  let text = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
  // A character cut in half decodes to U+FFFD (3 bytes): trim until the excerpt fits again.
  while (Buffer.byteLength(text) > RESPONSE_EXCERPT_BYTES) text = text.slice(0, -1);
  return text;
}

/**
 * POSTs one signed body. Never throws: a response of any status or a failure to get one is
 * the result. `timeoutMs` bounds the whole attempt, the excerpt included.
 */
export async function sendAttempt(options: {
  url: string;
  body: string;
  headers: Record<string, string>;
  dispatcher: Dispatcher;
  timeoutMs: number;
}): Promise<AttemptResponse | AttemptNetworkError> {
  const started = performance.now();
  const signal = AbortSignal.timeout(options.timeoutMs);
  const latency = () => Math.round(performance.now() - started);
  try {
    const response = await request(options.url, {
      method: 'POST',
      body: options.body,
      headers: { 'content-type': 'application/json', 'user-agent': 'runway-relay-webhooks/1', ...options.headers },
      dispatcher: options.dispatcher,
      signal,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    const excerpt = await readExcerpt(response.body);
    const retryAfter = response.headers['retry-after'];
    return {
      kind: 'response',
      status: response.statusCode,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      excerpt,
      latencyMs: latency(),
    };
  } catch (error) {
    const blocked =
      error instanceof BlockedAddressError || (error as { cause?: unknown }).cause instanceof BlockedAddressError;
    const code = (error as { code?: string }).code ?? '';
    const timedOut = signal.aborted || /TIMEOUT/.test(code);
    const message = error instanceof Error ? error.message : String(error);
    return {
      kind: 'error',
      reason: blocked ? 'blocked' : timedOut ? 'timeout' : 'network',
      message: timedOut && !blocked ? `no answer within ${options.timeoutMs} ms` : message,
      latencyMs: latency(),
    };
  }
}
