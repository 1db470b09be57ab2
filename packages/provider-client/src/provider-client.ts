import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import {
  type CreatedTask,
  CreatedTaskSchema,
  detailSchemaOf,
  EnvelopeSchema,
  type TaskDetail,
  type TaskModel,
} from './answers.schema.js';
import { type BackoffOptions, parseRetryAfter, retryDelayMs } from './backoff.js';
import { kindOfCode, ProviderError } from './provider-error.js';
import type { ProviderMetrics } from './provider-metrics.js';
import type { RateLimiter } from './rate-limiter.js';

/** `POST /api/v1/runway/generate`. 10 s videos cannot be 1080p; without `imageUrl`, `aspectRatio` is required. */
export interface GenerateRequest {
  prompt: string;
  imageUrl?: string;
  duration: 5 | 10;
  quality: '720p' | '1080p';
  aspectRatio?: '16:9' | '4:3' | '1:1' | '3:4' | '9:16';
  waterMark?: string;
  callBackUrl?: string;
}

/** `POST /api/v1/runway/extend`: continues a generated video; its callbacks look like generation ones. */
export interface ExtendRequest {
  taskId: string;
  prompt: string;
  quality: '720p' | '1080p';
  waterMark?: string;
  callBackUrl?: string;
}

/** `POST /api/v1/aleph/generate`: video-to-video with the Aleph model. */
export interface AlephGenerateRequest {
  prompt: string;
  videoUrl: string;
  callBackUrl?: string;
  waterMark?: string;
  uploadCn?: boolean;
  aspectRatio?: '16:9' | '9:16' | '4:3' | '3:4' | '1:1' | '21:9';
  seed?: number;
  referenceImage?: string;
}

export interface ProviderClient {
  generate(body: GenerateRequest): Promise<CreatedTask>;
  extend(body: ExtendRequest): Promise<CreatedTask>;
  generateAleph(body: AlephGenerateRequest): Promise<CreatedTask>;
  /** The task's state from its model's task-detail endpoint, in one shape for both models. */
  taskDetail(taskId: string, model?: TaskModel): Promise<TaskDetail>;
}

export interface ProviderClientOptions {
  /** `PROVIDER_API_URL`, e.g. `https://api.kie.ai`. */
  baseUrl: string;
  /** `PROVIDER_API_KEY`; sent only in the Authorization header, never logged or put in an error. */
  apiKey: string;
  /** ms one attempt may take, connect to last byte (`PROVIDER_TIMEOUT_MS`). Default 10000. */
  timeoutMs?: number;
  /** Further attempts after a retryable failure. Default 3. */
  retries?: number;
  backoff?: BackoffOptions;
  /** Shared limiter every attempt waits for (see `createRedisRateLimiter`). */
  limiter?: RateLimiter;
  /**
   * ms an attempt may wait for the limiter before it gives up with `rate_limited` (nothing sent).
   * Unbounded by default: the reconciler may wait; a request someone is waiting on must not.
   */
  limiterTimeoutMs?: number;
  metrics?: ProviderMetrics;
  /** undici dispatcher (connection pool); the global one by default. */
  dispatcher?: Dispatcher;
  /** Jitter source, for tests. */
  random?: () => number;
}

/** Largest answer read; the provider's are a few KiB. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** Errors of a connection that was never made: the provider cannot have acted on the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

interface Call {
  endpoint: string;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

async function readLimited(call: Call, body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      throw new ProviderError(`provider ${call.endpoint}: answer larger than ${MAX_ANSWER_BYTES} bytes`, {
        kind: 'invalid_answer',
        endpoint: call.endpoint,
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function networkError(call: Call, error: unknown): ProviderError {
  const code = (error as { code?: unknown }).code;
  const name = error instanceof Error ? error.name : '';
  const timedOut = name === 'TimeoutError' || name === 'AbortError' || String(code).includes('TIMEOUT');
  const reason = timedOut ? 'timed out' : typeof code === 'string' ? code : 'failed';
  return new ProviderError(`provider ${call.endpoint}: request ${reason}`, {
    kind: 'network',
    endpoint: call.endpoint,
    notSent: typeof code === 'string' && NOT_SENT_CODES.has(code),
    cause: error,
  });
}

/**
 * Whether attempt `error` may be repeated. A GET may be after any retryable failure. A POST
 * creates a task: it is repeated only when the provider certainly did not act on it (429, or no
 * connection at all), never after a 5xx or a timeout, which could have created a task already.
 */
function mayRetry(call: Call, error: ProviderError): boolean {
  if (!error.retryable) return false;
  if (call.method === 'GET') return true;
  return error.kind === 'rate_limited' || error.notSent;
}

/** Creates the typed client of the provider's API (docs/worker.md, "The provider client"). */
export function createProviderClient(options: ProviderClientOptions): ProviderClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retries = options.retries ?? 3;
  const random = options.random ?? Math.random;
  const metrics = options.metrics;

  /** One attempt: the envelope's `data` on `code` 200, else a {@link ProviderError}. */
  const attempt = async (call: Call): Promise<unknown> => {
    if (options.limiter) {
      const limit = options.limiterTimeoutMs;
      let waitedMs: number;
      try {
        waitedMs = await options.limiter.acquire(limit === undefined ? undefined : AbortSignal.timeout(limit));
      } catch (error) {
        throw new ProviderError(`provider ${call.endpoint}: no request budget within ${limit} ms (PROVIDER_RPS)`, {
          kind: 'rate_limited',
          endpoint: call.endpoint,
          notSent: true,
          ...(limit === undefined ? {} : { retryAfterMs: limit }),
          cause: error,
        });
      }
      metrics?.limiterWait.observe(waitedMs / 1000);
    }
    const stopTimer = metrics?.duration.startTimer({ endpoint: call.endpoint });
    let status: number;
    let text: string;
    let retryAfterMs: number | undefined;
    try {
      const response = await request(`${base}${call.path}`, {
        method: call.method,
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          accept: 'application/json',
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      status = response.statusCode;
      retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      text = await readLimited(call, response.body);
    } catch (error) {
      throw error instanceof ProviderError ? error : networkError(call, error);
    } finally {
      stopTimer?.();
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const envelope = EnvelopeSchema.safeParse(json);
    const code = envelope.success ? envelope.data.code : status;
    if (code !== 200 || status >= 300) {
      const failing = code !== 200 ? code : status;
      const msg = envelope.success ? (envelope.data.msg ?? '') : '';
      throw new ProviderError(`provider ${call.endpoint}: code ${failing}${msg ? ` (${msg.slice(0, 200)})` : ''}`, {
        kind: kindOfCode(failing),
        endpoint: call.endpoint,
        code: failing,
        status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (!envelope.success) {
      throw new ProviderError(`provider ${call.endpoint}: answer is not the provider's JSON envelope`, {
        kind: 'invalid_answer',
        endpoint: call.endpoint,
        status,
      });
    }
    return envelope.data.data;
  };

  /** Attempts `call` until it succeeds, fails for good, or the retries are spent. */
  const send = async <T extends z.ZodType>(call: Call, schema: T): Promise<z.infer<T>> => {
    for (let attemptNo = 1; ; attemptNo += 1) {
      try {
        const data = await attempt(call);
        const parsed = schema.safeParse(data);
        if (!parsed.success) {
          const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(data)').join(', ');
          throw new ProviderError(`provider ${call.endpoint}: unexpected answer (${fields})`, {
            kind: 'invalid_answer',
            endpoint: call.endpoint,
            code: 200,
            cause: parsed.error,
          });
        }
        metrics?.requests.inc({ endpoint: call.endpoint, outcome: 'ok' });
        return parsed.data;
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        error.attempts = attemptNo;
        metrics?.requests.inc({ endpoint: call.endpoint, outcome: error.kind });
        if (attemptNo > retries || !mayRetry(call, error)) throw error;
        metrics?.retries.inc({ endpoint: call.endpoint });
        await sleep(retryDelayMs(attemptNo, options.backoff ?? {}, error.retryAfterMs, random));
      }
    }
  };

  const create = (endpoint: string, path: string, body: unknown) =>
    send({ endpoint, method: 'POST', path, body }, CreatedTaskSchema).then(({ taskId }) => ({ taskId }));

  return {
    generate: (body) => create('generate', '/api/v1/runway/generate', body),
    extend: (body) => create('extend', '/api/v1/runway/extend', body),
    generateAleph: (body) => create('aleph_generate', '/api/v1/aleph/generate', body),
    taskDetail: (taskId, model = 'runway') => {
      const query = `?taskId=${encodeURIComponent(taskId)}`;
      const call: Call =
        model === 'aleph'
          ? { endpoint: 'aleph_record_info', method: 'GET', path: `/api/v1/aleph/record-info${query}` }
          : { endpoint: 'record_detail', method: 'GET', path: `/api/v1/runway/record-detail${query}` };
      return send(call, detailSchemaOf(model));
    },
  };
}
