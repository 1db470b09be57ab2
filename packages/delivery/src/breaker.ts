import type { RedisClient } from '@runway-relay/runtime';
import type { EndpointStore } from './endpoint-store.js';
import type { DeliveryKeys } from './keys.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerSettings {
  /** DELIVERY_BREAKER_THRESHOLD: consecutive failures that open it. */
  threshold: number;
  /** DELIVERY_BREAKER_COOLDOWN_MS: wait before a half-open probe. */
  cooldownMs: number;
  /** How long one probe holds the half-open breaker (the attempt timeout plus a margin). */
  probeLeaseMs: number;
}

/** May an attempt go now? When not, `retryAt` (ms) is when to ask again. */
export type BreakerDecision =
  | { allowed: true; state: BreakerState }
  | { allowed: false; state: BreakerState; retryAt: number };

// State in one hash, changed only by these scripts, so every worker process sees one breaker.
const ACQUIRE = `
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return {1, 0, state} end
local now = tonumber(ARGV[1])
if state == 'open' then
  local ready = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0') + tonumber(ARGV[2])
  if now < ready then return {0, ready, state} end
else
  local lease = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
  if now < lease then return {0, lease, state} end
end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + tonumber(ARGV[3]))
return {1, 0, 'half_open'}`;

const SUCCEED = `
local before = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
redis.call('HDEL', KEYS[1], 'opened_at', 'probe_until')
return before`;

const FAIL = `
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if state == 'half_open' or (state == 'closed' and failures >= tonumber(ARGV[2])) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', ARGV[1])
  redis.call('HDEL', KEYS[1], 'probe_until')
  return 'open'
end
return state`;

export interface Breaker {
  acquire(endpointId: string, now?: number): Promise<BreakerDecision>;
  /** Records an attempt's result; returns the state after it. */
  record(endpointId: string, success: boolean, now?: number): Promise<BreakerState>;
  state(endpointId: string): Promise<BreakerState>;
}

/**
 * A circuit breaker per endpoint, shared by every process through Redis: `threshold`
 * consecutive failures open it; after `cooldownMs` one attempt goes through as a probe
 * (half-open): its success closes the breaker, its failure opens it again.
 */
export function createBreaker(redis: RedisClient, keys: DeliveryKeys, settings: BreakerSettings): Breaker {
  const asState = (value: unknown): BreakerState => (value === 'open' || value === 'half_open' ? value : 'closed');
  return {
    async acquire(endpointId, now = Date.now()) {
      const [allowed, retryAt, state] = (await redis.eval(
        ACQUIRE,
        1,
        keys.breaker(endpointId),
        String(now),
        String(settings.cooldownMs),
        String(settings.probeLeaseMs),
      )) as [number, number, string];
      return allowed === 1
        ? { allowed: true, state: asState(state) }
        : { allowed: false, state: asState(state), retryAt: Number(retryAt) };
    },
    async record(endpointId, success, now = Date.now()) {
      const key = keys.breaker(endpointId);
      const result = success
        ? await redis.eval(SUCCEED, 1, key)
        : await redis.eval(FAIL, 1, key, String(now), String(settings.threshold));
      return success ? 'closed' : asState(result);
    },
    async state(endpointId) {
      return asState(await redis.hget(keys.breaker(endpointId), 'state'));
    },
  };
}

/** The breaker state of every endpoint, for the metrics gauge (read from Redis at scrape time). */
export async function readBreakerStates(
  endpoints: Pick<EndpointStore, 'all'>,
  breaker: Pick<Breaker, 'state'>,
): Promise<Record<string, BreakerState>> {
  const all = await endpoints.all();
  return Object.fromEntries(await Promise.all(all.map(async (e) => [e.id, await breaker.state(e.id)] as const)));
}
