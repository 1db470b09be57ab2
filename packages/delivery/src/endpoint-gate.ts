import type { RedisClient } from '@runway-relay/runtime';
import type { DeliveryKeys } from './keys.js';

/** The per-endpoint limits an attempt must pass before it is sent, across all processes. */
export type GateDecision = { allowed: true } | { allowed: false; reason: 'concurrency' | 'rate'; retryAt: number };

// In-flight attempts are leases (scored by when they end), so a process that dies mid-attempt
// frees its slot when the lease ends instead of holding it for good.
const ACQUIRE = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return {0, 'concurrency'} end
local rate = tonumber(ARGV[5])
if rate > 0 then
  local started = redis.call('INCR', KEYS[2])
  if started == 1 then redis.call('PEXPIRE', KEYS[2], 2000) end
  if started > rate then return {0, 'rate'} end
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
return {1, 'ok'}`;

export interface EndpointGate {
  acquire(
    endpointId: string,
    token: string,
    limits: { maxInFlight: number; ratePerS: number | null },
    now?: number,
  ): Promise<GateDecision>;
  release(endpointId: string, token: string): Promise<void>;
}

export function createEndpointGate(redis: RedisClient, keys: DeliveryKeys, leaseMs: number): EndpointGate {
  return {
    async acquire(endpointId, token, limits, now = Date.now()) {
      const second = Math.floor(now / 1000);
      const [allowed, reason] = (await redis.eval(
        ACQUIRE,
        2,
        keys.inFlight(endpointId),
        keys.rate(endpointId, second),
        String(now),
        String(limits.maxInFlight),
        String(now + leaseMs),
        token,
        String(limits.ratePerS ?? 0),
      )) as [number, string];
      if (allowed === 1) return { allowed: true };
      // A slot frees within an attempt; a rate window ends with its second. Jitter spreads the askers.
      const retryAt = reason === 'rate' ? (second + 1) * 1000 + Math.random() * 200 : now + 100 + Math.random() * 400;
      return { allowed: false, reason: reason === 'rate' ? 'rate' : 'concurrency', retryAt: Math.round(retryAt) };
    },
    async release(endpointId, token) {
      await redis.zrem(keys.inFlight(endpointId), token);
    },
  };
}
