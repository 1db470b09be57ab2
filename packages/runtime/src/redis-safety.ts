import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type RedisClient, waitForRedis } from './redis.js';
import { startRetryDelay, whenAborted } from './retry-until.js';

/**
 * A setting that makes ACKed callbacks losable:
 * - `maxmemory-policy`: anything but `noeviction` lets Redis evict queued jobs and task records.
 * - `persistence`: without AOF (and without replicas acknowledging writes) a restart loses them.
 * - `unverifiable`: neither `CONFIG GET` nor `INFO` shows the setting (a locked-down managed Redis).
 */
export type RedisSafetySetting = 'maxmemory-policy' | 'persistence' | 'unverifiable';

export interface RedisSafetyProblem {
  setting: RedisSafetySetting;
  /** `host:port` of the node (every master of a cluster is checked). */
  node: string;
  /** One line naming the setting, its value and the fix. */
  message: string;
}

/** Outcome of {@link checkRedisSafety}; expected problems are values, only connection errors throw. */
export type RedisSafety = { ok: true } | { ok: false; problems: RedisSafetyProblem[] };

export interface RedisSafetyOptions {
  /**
   * Replicas that acknowledge every callback (`REDIS_WAIT_REPLICAS`): above 0 a Redis without
   * AOF passes, since an ACKed callback is then on a replica that survives the master's loss.
   */
  waitReplicas: number;
  /**
   * `REDIS_ASSUME_SAFE`: the operator vouches for a Redis whose settings cannot be read; turns
   * `unverifiable` into a pass. A setting that was read and is bad still fails.
   */
  assumeSafe: boolean;
}

/** Where the settings came from, for the fallback when CONFIG is refused. */
interface NodeSettings {
  policy: string | undefined;
  appendonly: boolean | undefined;
}

/** A managed Redis that renames CONFIG away, or an ACL without `config|get`. */
export function isCommandRefused(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /unknown command|NOPERM/i.test(message);
}

/** `CONFIG GET name` → its value; `undefined` when refused (other errors throw). */
async function configGet(node: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await node.call('CONFIG', 'GET', name)) as string[];
    return reply[1];
  } catch (error) {
    if (isCommandRefused(error)) return undefined;
    throw error;
  }
}

/** The `field:value` lines of an `INFO section` reply; empty when INFO is refused. */
export async function infoFields(node: Redis | Cluster, section: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await node.info(section);
  } catch (error) {
    if (isCommandRefused(error)) return new Map();
    throw error;
  }
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** CONFIG GET first; when refused, the same facts from INFO (`maxmemory_policy`, `aof_enabled`). */
async function readSettings(node: Redis): Promise<NodeSettings> {
  let policy = await configGet(node, 'maxmemory-policy');
  const appendonlyValue = await configGet(node, 'appendonly');
  let appendonly = appendonlyValue === undefined ? undefined : appendonlyValue === 'yes';
  if (policy === undefined) policy = (await infoFields(node, 'memory')).get('maxmemory_policy');
  if (appendonly === undefined) {
    const aof = (await infoFields(node, 'persistence')).get('aof_enabled');
    appendonly = aof === undefined ? undefined : aof === '1';
  }
  return { policy, appendonly };
}

const nodeName = (node: Redis) => `${node.options.host}:${node.options.port}`;
const isCluster = (redis: RedisClient): redis is Cluster => (redis as Cluster).isCluster === true;

function problemsOf(node: string, settings: NodeSettings, options: RedisSafetyOptions): RedisSafetyProblem[] {
  const problems: RedisSafetyProblem[] = [];
  const unreadable: string[] = [];
  if (settings.policy === undefined) unreadable.push('maxmemory-policy');
  else if (settings.policy !== 'noeviction') {
    problems.push({
      setting: 'maxmemory-policy',
      node,
      message: `maxmemory-policy is ${settings.policy} on ${node}: must be noeviction (evicted keys are lost callbacks)`,
    });
  }
  if (options.waitReplicas === 0) {
    if (settings.appendonly === undefined) unreadable.push('appendonly');
    else if (!settings.appendonly) {
      problems.push({
        setting: 'persistence',
        node,
        message: `appendonly is no on ${node}: a Redis restart would lose every ACKed callback; set appendonly yes or require replicas with REDIS_WAIT_REPLICAS`,
      });
    }
  }
  if (unreadable.length > 0 && !options.assumeSafe) {
    problems.push({
      setting: 'unverifiable',
      node,
      message: `cannot read ${unreadable.join(' and ')} on ${node} (CONFIG GET and INFO refused): set REDIS_ASSUME_SAFE=true if this Redis is noeviction with AOF`,
    });
  }
  return problems;
}

/**
 * Checks that Redis cannot silently drop an ACKed callback: `maxmemory-policy noeviction`
 * and AOF persistence (or `REDIS_WAIT_REPLICAS` > 0) on every master. When `CONFIG GET` is
 * refused (managed Redis: renamed command, ACL), the same facts are read from `INFO`.
 * Rejects only when Redis cannot be reached.
 */
export async function checkRedisSafety(redis: RedisClient, options: RedisSafetyOptions): Promise<RedisSafety> {
  const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
  if (nodes.length === 0) throw new Error('redis cluster has no known master yet');
  const problems: RedisSafetyProblem[] = [];
  for (const node of nodes) problems.push(...problemsOf(nodeName(node), await readSettings(node), options));
  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}

/** The problems as one text, one per line, with the development escape hatch. */
export function describeRedisSafety(problems: readonly RedisSafetyProblem[]): string {
  const lines = problems.map((problem) => problem.message);
  return `${lines.join('; ')}; set REDIS_ALLOW_VOLATILE=true only for development`;
}

export interface RedisSafetyPolicy extends RedisSafetyOptions {
  /** `REDIS_ALLOW_VOLATILE`: start anyway (development, tests), with a loud warning. */
  allowVolatile: boolean;
}

/** The policy from a service config (every service schema has these variables). */
export function redisSafetyPolicyOf(config: {
  REDIS_WAIT_REPLICAS: number;
  REDIS_ASSUME_SAFE: boolean;
  REDIS_ALLOW_VOLATILE: boolean;
}): RedisSafetyPolicy {
  return {
    waitReplicas: config.REDIS_WAIT_REPLICAS,
    assumeSafe: config.REDIS_ASSUME_SAFE,
    allowVolatile: config.REDIS_ALLOW_VOLATILE,
  };
}

/**
 * Waits for Redis (logging each failed attempt, never giving up) and reads its settings;
 * rejects with the signal's reason once `signal` aborts (the service is closing).
 */
async function checkWhenReachable(redis: RedisClient, policy: RedisSafetyPolicy, logger: Logger, signal: AbortSignal) {
  const aborted = whenAborted(signal);
  aborted.catch(() => undefined);
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    try {
      return await Promise.race([waitForRedis(redis, 10_000).then(() => checkRedisSafety(redis, policy)), aborted]);
    } catch (error) {
      signal.throwIfAborted();
      logger.warn({ err: error, attempt }, 'redis not reachable yet, start check retrying');
    }
    await sleep(startRetryDelay(attempt), undefined, { signal });
  }
}

/**
 * The start check of a service: waits until Redis answers, then `{ ok: false, message }`
 * means refuse to start (exit 78). With `allowVolatile` the problems are logged as a loud
 * warning and the start goes on. `signal` ends the wait (a service closed while starting).
 */
export async function redisSafetyAtStart(
  redis: RedisClient,
  policy: RedisSafetyPolicy,
  logger: Logger,
  signal: AbortSignal = new AbortController().signal,
): Promise<{ ok: true } | { ok: false; message: string }> {
  const result = await checkWhenReachable(redis, policy, logger, signal);
  if (result.ok) return result;
  const message = describeRedisSafety(result.problems);
  if (!policy.allowVolatile) return { ok: false, message };
  logger.warn(
    { problems: result.problems.map((problem) => problem.message) },
    '!!! REDIS_ALLOW_VOLATILE=true: this Redis may lose ACKed callbacks (eviction or no persistence). Development and tests only. !!!',
  );
  return { ok: true };
}

/**
 * A `/readyz` check (`redis_config`): the settings re-read at most every `cacheMs`, so a
 * probe never costs more than one CONFIG GET round per interval. Rejects while a problem
 * stands, unless `allowVolatile`.
 */
export function redisConfigReadiness(redis: RedisClient, policy: RedisSafetyPolicy, cacheMs = 30_000) {
  let cached: { at: number; result: Promise<RedisSafety> } | undefined;
  return async (): Promise<void> => {
    const now = Date.now();
    if (!cached || now - cached.at >= cacheMs) {
      const result = checkRedisSafety(redis, policy);
      cached = { at: now, result };
      // A failed read (Redis away) is not cached: the next probe asks again.
      result.catch(() => {
        if (cached?.result === result) cached = undefined;
      });
    }
    const result = await cached.result;
    if (!result.ok && !policy.allowVolatile) throw new Error(describeRedisSafety(result.problems));
  };
}
