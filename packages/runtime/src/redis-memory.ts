import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './redis.js';
import { infoFields } from './redis-safety.js';

/** Redis memory use as `INFO memory` reports it; on a cluster, the fullest master. */
export interface RedisMemorySample {
  usedBytes: number;
  /** `maxmemory`; 0 means unlimited. */
  maxBytes: number;
  /** used / max; 0 when `maxmemory` is 0 (no limit, nothing to guard). */
  fraction: number;
}

export interface RedisMemorySampler {
  /** The latest sample; `undefined` before the first one answered. */
  current(): RedisMemorySample | undefined;
  /** Samples now (the timer calls it); concurrent calls share one round of INFO. */
  refresh(): Promise<RedisMemorySample | undefined>;
  /** Stops the timer. */
  close(): void;
}

export interface RedisMemorySamplerOptions {
  redis: RedisClient;
  /** ms between samples. */
  intervalMs: number;
  /** Called with every new sample (e.g. to set a gauge). */
  onSample?: (sample: RedisMemorySample) => void;
  /** Called when a sample fails; the previous sample stays current. */
  onError?: (error: unknown) => void;
}

const isCluster = (redis: RedisClient): redis is Cluster => (redis as Cluster).isCluster === true;

async function sampleNode(node: Redis | Cluster): Promise<RedisMemorySample> {
  const fields = await infoFields(node, 'memory');
  const usedBytes = Number(fields.get('used_memory'));
  const maxBytes = Number(fields.get('maxmemory') ?? 0);
  if (!Number.isFinite(usedBytes)) throw new Error('INFO memory has no used_memory');
  return { usedBytes, maxBytes, fraction: maxBytes > 0 ? usedBytes / maxBytes : 0 };
}

/** One sample: a single Redis, or the master of a cluster with the highest fraction. */
export async function sampleRedisMemory(redis: RedisClient): Promise<RedisMemorySample> {
  if (!isCluster(redis)) return sampleNode(redis);
  const samples = await Promise.all(redis.nodes('master').map(sampleNode));
  if (samples.length === 0) throw new Error('redis cluster has no known master yet');
  return samples.reduce((fullest, sample) => (sample.fraction > fullest.fraction ? sample : fullest));
}

/**
 * Keeps a recent `INFO memory` sample, refreshed on a timer (unref'd, so it never keeps the
 * process alive), so a request reads memory use without a Redis round trip.
 */
export function createRedisMemorySampler(options: RedisMemorySamplerOptions): RedisMemorySampler {
  let latest: RedisMemorySample | undefined;
  let inFlight: Promise<RedisMemorySample | undefined> | undefined;
  const refresh = () => {
    inFlight ??= sampleRedisMemory(options.redis)
      .then(
        (sample) => {
          latest = sample;
          options.onSample?.(sample);
          return sample;
        },
        (error: unknown) => {
          options.onError?.(error);
          return latest;
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const timer = setInterval(() => void refresh(), options.intervalMs);
  timer.unref();
  void refresh();
  return { current: () => latest, refresh, close: () => clearInterval(timer) };
}
