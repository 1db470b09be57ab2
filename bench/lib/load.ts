import autocannon, { type RequestParams, type Result } from 'autocannon';
import type { SignedRequest } from './signed-callbacks.js';

export interface LoadOptions {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  path: string;
  connections: number;
  /** Seconds of a timed run (ignored when `amount` is set). */
  durationS?: number;
  /** Exact number of requests; autocannon then waits for every answer. */
  amount?: number;
  /** Requests per second over all connections. */
  overallRate?: number;
  /** Called before every send: one new request each time. */
  next: () => SignedRequest;
  onResponse?: (status: number, body: string) => void;
}

/** The figures of one load run; latencies in ms. */
export interface LoadSummary {
  /** Answers received (requests cut off when a timed run stops are not counted). */
  completed: number;
  durationS: number;
  /** autocannon's average of per-second request counts. */
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  byStatus: Record<string, number>;
  ok200: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

function summarize(result: Result, options: LoadOptions, elapsedS: number): LoadSummary {
  const byStatus: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {})) byStatus[status] = Number(count);
  const completed = Object.values(byStatus).reduce((sum, n) => sum + n, 0);
  // autocannon reports a fixed-amount run only at its next one-second sample, so its duration
  // is rounded up to whole seconds: time an unthrottled one to its last answer instead. (A
  // rate-limited one sends each second's quota in a burst: whole seconds are right for it.)
  const exact = options.amount !== undefined && options.overallRate === undefined;
  const durationS = exact ? elapsedS : result.duration;
  return {
    completed,
    durationS,
    rps: options.amount ? completed / durationS : result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    max: result.latency.max,
    byStatus,
    ok200: byStatus['200'] ?? 0,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** Runs autocannon against `url + path` with a freshly built POST per request. */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const setupRequest = (request: RequestParams): RequestParams => {
    const { body, headers } = options.next();
    return { ...request, method: 'POST', path: options.path, body, headers };
  };
  const started = performance.now();
  let lastAnswer = started;
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationS ?? 10 }),
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    timeout: 30,
    requests: [
      {
        setupRequest,
        ...(options.onResponse
          ? { onResponse: (status: number, body: string) => options.onResponse?.(status, body) }
          : {}),
      },
    ],
  });
  instance.on('response', () => {
    lastAnswer = performance.now();
  });
  return summarize(await instance, options, (lastAnswer - started) / 1000);
}
