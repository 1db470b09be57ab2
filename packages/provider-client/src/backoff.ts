/** Exponential backoff of retried requests. */
export interface BackoffOptions {
  /** Delay before the first retry, ms. Default 500. */
  baseMs?: number;
  /** Longest delay, ms (a `Retry-After` is capped at it too). Default 30000. */
  maxMs?: number;
}

/**
 * Delay before retry `attempt` (1 = the first retry): "full jitter", a uniform draw in
 * [0, min(max, base·2^(attempt-1))], so processes that failed together do not retry together.
 * A `Retry-After` from the provider is a floor: we never ask earlier than it said.
 */
export function retryDelayMs(
  attempt: number,
  options: BackoffOptions,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const base = options.baseMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(Math.min(retryAfterMs, max), jittered);
}

/** `Retry-After` in ms: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
