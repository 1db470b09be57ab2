import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { type CallbackBody, callbackTaskId } from './callbacks.js';

/** Headers of the provider's (opt-in) callback signature. */
export interface SignatureHeaders {
  'X-Webhook-Timestamp': string;
  'X-Webhook-Signature': string;
}

/**
 * Signs a callback as the provider does: standard base64 of HMAC-SHA256(key, `<task_id>.<timestamp>`),
 * the task id from `data.task_id` (or top-level `taskId`), the timestamp in Unix seconds.
 * The body itself is not signed (the provider's scheme). A body without a task id (only useful to
 * test rejections) is signed over an empty id.
 */
export function signProviderCallback(body: CallbackBody, key: string, nowSeconds: number): SignatureHeaders {
  const timestamp = String(Math.floor(nowSeconds));
  const signature = createHmac('sha256', key)
    .update(`${callbackTaskId(body) ?? ''}.${timestamp}`)
    .digest('base64');
  return { 'X-Webhook-Timestamp': timestamp, 'X-Webhook-Signature': signature };
}

/** Options of {@link sendCallback}. */
export interface SendCallbackOptions {
  /** The receiver's callback URL. */
  url: string;
  body: CallbackBody;
  /** Signs each attempt when set (fresh timestamp per attempt). */
  hmacKey?: string;
  /** An attempt that has not answered 200 within this many ms failed. Default 15000 (the provider's). */
  timeoutMs?: number;
  /** Further attempts after the first. Default 3. */
  retries?: number;
  /** Wait before retry n (the last value repeats). Default [1000, 5000, 15000]; the provider waits minutes. */
  retryDelaysMs?: number[];
  /** Extra copies of the same delivery sent concurrently, as a provider retrying too eagerly would. Default 0. */
  duplicates?: number;
  /** Clock for signature timestamps, in ms. Default `Date.now`. */
  now?: () => number;
  /** Headers added to every attempt (e.g. to test a wrong content type). */
  headers?: Record<string, string>;
}

/** One HTTP attempt of one copy of a delivery. */
export interface DeliveryAttempt {
  /** 0 for the original, 1.. for duplicate copies. */
  copy: number;
  /** 1-based attempt number within the copy. */
  attempt: number;
  /** HTTP status when an answer came. */
  status?: number;
  /** `timeout` or the network error's message when none came. */
  error?: string;
  /** Response body text (first 1 KiB). */
  responseBody?: string;
  latencyMs: number;
}

/** Outcome of {@link sendCallback}: every attempt of every copy. */
export interface DeliveryResult {
  /** The body's task id (undefined for a body without one). */
  taskId: string | undefined;
  /** Whether at least one copy was acknowledged with 200. */
  delivered: boolean;
  /** Per copy: acknowledged or not, in copy order. */
  copies: boolean[];
  attempts: DeliveryAttempt[];
}

const DEFAULT_RETRY_DELAYS_MS = [1000, 5000, 15000];

async function attemptOnce(options: SendCallbackOptions, payload: string, copy: number, attempt: number) {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 15_000;
  const signature = options.hmacKey
    ? signProviderCallback(options.body, options.hmacKey, (options.now ?? Date.now)() / 1000)
    : {};
  const record: DeliveryAttempt = { copy, attempt, latencyMs: 0 };
  try {
    const response = await request(options.url, {
      method: 'POST',
      body: payload,
      headers: { 'Content-Type': 'application/json', ...signature, ...options.headers },
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    record.status = response.statusCode;
    record.responseBody = (await response.body.text()).slice(0, 1024);
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    const timedOut = ['TimeoutError', 'AbortError', 'HeadersTimeoutError', 'BodyTimeoutError'].includes(name);
    record.error = timedOut ? 'timeout' : error instanceof Error ? error.message : String(error);
  }
  record.latencyMs = Math.round(performance.now() - started);
  return record;
}

async function deliverCopy(options: SendCallbackOptions, payload: string, copy: number, log: DeliveryAttempt[]) {
  const retries = options.retries ?? 3;
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  for (let attempt = 1; attempt <= retries + 1; attempt += 1) {
    const record = await attemptOnce(options, payload, copy, attempt);
    log.push(record);
    // Only 200 counts: the provider treats every other answer as a failed delivery.
    if (record.status === 200) return true;
    if (attempt <= retries) await sleep(delays[Math.min(attempt - 1, delays.length - 1)] ?? 0);
  }
  return false;
}

/**
 * Posts a callback the way the provider does: JSON, optionally signed, success only on HTTP 200
 * within `timeoutMs`, otherwise retried after `retryDelaysMs` up to `retries` times. With
 * `duplicates`, that many extra copies are delivered concurrently. Never throws for delivery
 * failures: they are in the returned attempts.
 */
export async function sendCallback(options: SendCallbackOptions): Promise<DeliveryResult> {
  const payload = JSON.stringify(options.body);
  const attempts: DeliveryAttempt[] = [];
  const copies = await Promise.all(
    Array.from({ length: 1 + (options.duplicates ?? 0) }, (_, copy) => deliverCopy(options, payload, copy, attempts)),
  );
  return { taskId: callbackTaskId(options.body), delivered: copies.some(Boolean), copies, attempts };
}
