import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '@runway-relay/runtime';

/**
 * Token bucket in one hash: `tokens` left and `ts` of the last refill (ms, Redis's own clock,
 * so processes on hosts with skewed clocks share one timeline). Takes one token and returns 0,
 * or takes nothing and returns the ms until one will be there.
 * KEYS: 1 bucket. ARGV: 1 tokens per second, 2 burst (bucket size).
 */
const TAKE_TOKEN_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(bucket[1]) or burst
local ts = tonumber(bucket[2]) or now
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
`;

interface TakeTokenCommand {
  relayTakeProviderToken(key: string, rate: string, burst: string): Promise<number>;
}

/** A limiter every process shares: `acquire()` resolves when a request may go. */
export interface RateLimiter {
  /** Waits for a token; returns the ms waited. Rejects with the signal's reason when aborted. */
  acquire(signal?: AbortSignal): Promise<number>;
}

export interface RedisRateLimiterOptions {
  redis: RedisClient;
  /** The bucket's key (`relayKeys(...).providerRate`): one per provider account. */
  key: string;
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: requests that may go at once after a quiet spell. */
  burst: number;
}

/**
 * A token bucket in Redis shared by all processes that use the same key: together they never
 * exceed `burst + ratePerSecond · t` requests in any span of t seconds.
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const { redis, key } = options;
  if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) throw new Error('rate must be > 0 and burst >= 1');
  redis.defineCommand('relayTakeProviderToken', { numberOfKeys: 1, lua: TAKE_TOKEN_SCRIPT });
  const command = redis as unknown as TakeTokenCommand;
  return {
    acquire: async (signal) => {
      const started = performance.now();
      for (;;) {
        signal?.throwIfAborted();
        const wait = Number(
          await command.relayTakeProviderToken(key, String(options.ratePerSecond), String(options.burst)),
        );
        if (wait <= 0) return performance.now() - started;
        // A little jitter, so processes that waited for the same token do not ask at the same ms.
        await sleep(wait + Math.floor(Math.random() * 5), undefined, { signal });
      }
    },
  };
}
