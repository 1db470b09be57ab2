import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import {
  AlephGenerateBodySchema,
  describeBodyIssues,
  ExtendBodySchema,
  GenerateBodySchema,
} from './generate-request.js';
import { alephRecordInfoBody, recordDetailBody, type SimulatedTask, type SimulatedTaskBook } from './provider-api.js';
import type { ProviderSimOptions, TaskLifecycle } from './provider-lifecycle.js';

/** The simulated endpoints, by the name their request counters use. */
const ENDPOINTS: Record<string, { method: 'GET' | 'POST'; name: string }> = {
  '/api/v1/runway/generate': { method: 'POST', name: 'generate' },
  '/api/v1/runway/extend': { method: 'POST', name: 'extend' },
  '/api/v1/runway/record-detail': { method: 'GET', name: 'record_detail' },
  '/api/v1/aleph/generate': { method: 'POST', name: 'aleph_generate' },
  '/api/v1/aleph/record-info': { method: 'GET', name: 'aleph_record_info' },
};

/** An answer forced onto the next requests (after authentication), e.g. a 503 or a 402. */
export interface InjectedFault {
  /** `code` of the body. */
  code: number;
  /** HTTP status; default 200 (the provider reports most errors in the body). */
  httpStatus?: number;
  /** Sent as `Retry-After` (seconds) when set. */
  retryAfterS?: number;
}

/** The provider's API as the simulator serves it, with the counters tests assert on. */
export interface ProviderApi {
  /** Answers `/api/v1/...`; false when the path is not one of the API's. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  /** Requests per endpoint (refused ones included). */
  counts(): Record<string, number>;
  /** Task-detail requests (both models) about one task. */
  polls(taskId: string): number;
  /** Arrival times (ms) of the authenticated requests, for rate assertions. */
  arrivals(): number[];
  /** The next `count` authenticated requests get `fault` instead of their answer. */
  injectFaults(count: number, fault: InjectedFault): void;
  setRateLimit(perSecond: number): void;
}

export interface ProviderApiDeps {
  store: SimulatedTaskBook;
  apiKey: string;
  lifecycle: TaskLifecycle;
  isExpired: (mediaId: string) => boolean;
  options: ProviderSimOptions;
}

const MAX_BODY_BYTES = 64 * 1024;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': text.length, ...headers });
  res.end(text);
}

function bearerMatches(header: string | undefined, apiKey: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1].trim());
  const expected = Buffer.from(apiKey);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const envelope = (code: number, msg: string, data: unknown = null) => ({ code, msg, data });

/** Creates the simulated API over the simulator's task store and lifecycle. */
export function createProviderApi(deps: ProviderApiDeps): ProviderApi {
  const counts = new Map<string, number>();
  const polls = new Map<string, number>();
  const arrivals: number[] = [];
  /** Accepted requests of the last second, oldest first (the rate limit's window). */
  const window: number[] = [];
  const faults: InjectedFault[] = [];
  let rateLimit = deps.options.rateLimitPerSecond ?? 0;

  /** Sliding-second limit over the accepted requests. */
  const overLimit = (now: number) => {
    while (window.length > 0 && (window[0] as number) <= now - 1000) window.shift();
    return rateLimit > 0 && window.length >= rateLimit;
  };

  const create = async <T extends z.ZodType>(
    req: IncomingMessage,
    res: ServerResponse,
    schema: T,
    start: (body: z.infer<T>) => string | null,
  ) => {
    let raw: unknown;
    try {
      raw = await readJson(req);
    } catch {
      return sendJson(res, 200, envelope(400, 'body must be a JSON object of at most 64 KiB'));
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) return sendJson(res, 200, envelope(422, describeBodyIssues(parsed.error)));
    const taskId = start(parsed.data);
    if (taskId === null) return sendJson(res, 200, envelope(400, 'taskId does not name a finished video'));
    sendJson(res, 200, envelope(200, 'success', { taskId }));
  };

  const detail = (res: ServerResponse, url: URL, body: (task: SimulatedTask, expired: boolean) => unknown) => {
    const taskId = url.searchParams.get('taskId');
    if (!taskId) return sendJson(res, 200, envelope(400, 'taskId is required'));
    polls.set(taskId, (polls.get(taskId) ?? 0) + 1);
    const task = deps.store.get(taskId);
    if (!task) return sendJson(res, 200, envelope(404, 'Task not found'));
    sendJson(res, 200, body(task, deps.isExpired(task.mediaId ?? task.taskId)));
  };

  const handlers: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void> = {
    generate: (req, res) =>
      create(req, res, GenerateBodySchema, (body) => {
        const taskId = randomUUID();
        deps.lifecycle.start({ taskId, model: 'runway', prompt: body.prompt, callBackUrl: body.callBackUrl });
        return taskId;
      }),
    extend: (req, res) =>
      create(req, res, ExtendBodySchema, (body) => {
        if (deps.store.get(body.taskId)?.state !== 'success') return null;
        const taskId = randomUUID();
        deps.lifecycle.start({ taskId, model: 'runway', prompt: body.prompt, callBackUrl: body.callBackUrl });
        return taskId;
      }),
    aleph_generate: (req, res) =>
      create(req, res, AlephGenerateBodySchema, (body) => {
        const taskId = randomUUID();
        deps.lifecycle.start({ taskId, model: 'aleph', prompt: body.prompt, callBackUrl: body.callBackUrl });
        return taskId;
      }),
    record_detail: (_req, res, url) => detail(res, url, recordDetailBody),
    aleph_record_info: (_req, res, url) => detail(res, url, alephRecordInfoBody),
  };

  return {
    handle: async (req, res, url) => {
      const endpoint = ENDPOINTS[url.pathname];
      if (!endpoint || req.method !== endpoint.method) return false;
      counts.set(endpoint.name, (counts.get(endpoint.name) ?? 0) + 1);
      if (!bearerMatches(req.headers.authorization, deps.apiKey)) {
        sendJson(res, 401, envelope(401, 'Unauthorized: invalid API key'));
        return true;
      }
      const now = Date.now();
      if (overLimit(now)) {
        sendJson(res, 200, envelope(429, 'Rate limit exceeded'), { 'Retry-After': '1' });
        return true;
      }
      arrivals.push(now);
      window.push(now);
      const fault = faults.shift();
      if (fault) {
        const headers: Record<string, string> =
          fault.retryAfterS === undefined ? {} : { 'Retry-After': String(fault.retryAfterS) };
        sendJson(res, fault.httpStatus ?? 200, envelope(fault.code, `simulated error ${fault.code}`), headers);
        return true;
      }
      await handlers[endpoint.name]?.(req, res, url);
      return true;
    },
    counts: () => Object.fromEntries(counts),
    polls: (taskId) => polls.get(taskId) ?? 0,
    arrivals: () => [...arrivals],
    injectFaults: (count, fault) => {
      for (let i = 0; i < count; i += 1) faults.push(fault);
    },
    setRateLimit: (perSecond) => {
      rateLimit = perSecond;
    },
  };
}
