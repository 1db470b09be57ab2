import { jsonText, type RelayKeys, TaskLabelsSchema } from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';
import { z } from 'zod';

/** The model whose task-detail endpoint answers about a task (the provider client's `TaskModel`). */
export type RegisteredModel = 'runway' | 'aleph';

/**
 * Free-form labels stored with a registered task (who submitted it, for what), plus the model
 * whose task-detail endpoint answers about it (`model`: `runway`, the default, or `aleph`).
 */
export const TaskMetadataSchema = TaskLabelsSchema.refine(
  (meta) => meta.model === undefined || meta.model === 'runway' || meta.model === 'aleph',
  {
    message: 'model must be runway or aleph',
    path: ['model'],
  },
);
export type TaskMetadata = z.infer<typeof TaskMetadataSchema>;

/**
 * Why a task left the open index: the worker's `stored` / `failed`; the reconciler's
 * `enqueued` (handed to the pipeline), `provider_failed`, `link_expired`, `gave_up`; or
 * `forgotten` (its record expired).
 */
export type TerminalReason =
  | 'stored'
  | 'failed'
  | 'enqueued'
  | 'provider_failed'
  | 'link_expired'
  | 'gave_up'
  | 'forgotten';

const int = z.coerce.number().int();

/** A registered task's hash (HGETALL gives strings; this parses them). */
const RegisteredHashSchema = z.object({
  registered_at: int,
  meta: jsonText(TaskMetadataSchema),
  polls: int.default(0),
  /** Seconds of the last interval between polls; 0 before the first poll. */
  interval_s: int.default(0),
  last_state: z.string().optional(),
  last_polled_at: int.optional(),
  terminal_at: int.optional(),
  terminal_reason: z.string().optional(),
});

export interface RegisteredTask {
  taskId: string;
  /** ms since the epoch. */
  registeredAt: number;
  model: RegisteredModel;
  metadata: TaskMetadata;
  polls: number;
  intervalS: number;
  lastState: string | undefined;
  /** Set once the task left the open index (stored, failed, handed to the pipeline, given up). */
  terminalAt: number | undefined;
  terminalReason: string | undefined;
}

/**
 * Tasks the reconciler watches (docs/worker.md, "The reconciler"). It lives in a package because the dashboard registers
 * tasks (its admin API) and the worker polls and ends them. Each has a hash; the open
 * ones are in a sorted set scored by the time of their next poll (ms), so a pass reads only
 * the tasks that are due: O(due · log open), never a scan of every task.
 */
export interface TaskRegistry {
  /**
   * Registers a task; true when it was new. Idempotent: a second call (even after the task
   * finished) changes nothing, so a retried submission never resets its schedule.
   */
  register(taskId: string, metadata?: TaskMetadata, nowMs?: number): Promise<boolean>;
  /** Removes a task from the open index for good (the worker calls it when the task is stored or failed). */
  markTerminal(taskId: string, reason: TerminalReason, nowMs?: number): Promise<void>;
  /**
   * Takes up to `limit` due tasks (score ≤ now) and, in the same script, moves them to
   * `leaseUntilMs`: a concurrent pass does not see them, and a pass that dies leaves them due
   * again once the lease ends.
   */
  claimDue(nowMs: number, leaseUntilMs: number, limit: number): Promise<string[]>;
  /** Sets an open task's next poll (no-op for a task that became terminal meanwhile). */
  reschedule(
    taskId: string,
    next: { atMs: number; intervalS: number; state: string; polledAtMs: number },
  ): Promise<void>;
  get(taskId: string): Promise<RegisteredTask | null>;
  /** Open tasks in all, and how many of them are due at `nowMs`. */
  counts(nowMs: number): Promise<{ open: number; due: number }>;
}

/**
 * KEYS: 1 task hash, 2 due index. ARGV: 1 task id, 2 now (ms), 3 first poll (ms), 4 metadata
 * JSON, 5 ttl of the hash (s). Returns 1 when registered, 0 when it already was.
 */
const REGISTER_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'registered_at', ARGV[2], 'meta', ARGV[4], 'polls', 0, 'interval_s', 0)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
`;

/** KEYS: 1 due index. ARGV: 1 now (ms), 2 lease end (ms), 3 limit. Returns the claimed ids. */
const CLAIM_DUE_SCRIPT = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return ids
`;

/**
 * KEYS: 1 task hash, 2 due index. ARGV: 1 task id, 2 now (ms), 3 reason. The hash is only
 * touched when it exists: most tasks are never registered, and the worker calls this for all.
 */
const TERMINAL_SCRIPT = `
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'terminal_at', ARGV[2], 'terminal_reason', ARGV[3])
end
return 1
`;

interface RegistryCommands {
  relayPollRegister(...args: string[]): Promise<number>;
  relayPollClaimDue(...args: string[]): Promise<string[]>;
  relayPollTerminal(...args: string[]): Promise<number>;
}

export interface TaskRegistryOptions {
  redis: RedisClient;
  keys: RelayKeys;
  /** Seconds after registration before the first poll (`RECONCILE_AFTER_S`). */
  afterS: number;
  /** Seconds a task's hash is kept: past the reconciler's max age, so registration stays idempotent. */
  ttlSeconds: number;
}

export function createTaskRegistry(options: TaskRegistryOptions): TaskRegistry {
  const { redis, keys } = options;
  redis.defineCommand('relayPollRegister', { numberOfKeys: 2, lua: REGISTER_SCRIPT });
  redis.defineCommand('relayPollClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE_SCRIPT });
  redis.defineCommand('relayPollTerminal', { numberOfKeys: 2, lua: TERMINAL_SCRIPT });
  const command = redis as unknown as RegistryCommands;
  return {
    register: async (taskId, metadata = {}, nowMs = Date.now()) => {
      const meta = JSON.stringify(TaskMetadataSchema.parse(metadata));
      const firstPoll = nowMs + options.afterS * 1000;
      const created = await command.relayPollRegister(
        keys.pollTask(taskId),
        keys.pollDue,
        taskId,
        String(nowMs),
        String(firstPoll),
        meta,
        String(options.ttlSeconds),
      );
      return created === 1;
    },
    markTerminal: async (taskId, reason, nowMs = Date.now()) => {
      await command.relayPollTerminal(keys.pollTask(taskId), keys.pollDue, taskId, String(nowMs), reason);
    },
    claimDue: (nowMs, leaseUntilMs, limit) =>
      command.relayPollClaimDue(keys.pollDue, String(nowMs), String(leaseUntilMs), String(limit)),
    reschedule: async (taskId, next) => {
      await redis
        .multi()
        .zadd(keys.pollDue, 'XX', next.atMs, taskId)
        .hset(keys.pollTask(taskId), {
          interval_s: next.intervalS,
          last_state: next.state,
          last_polled_at: next.polledAtMs,
        })
        .hincrby(keys.pollTask(taskId), 'polls', 1)
        .exec();
    },
    get: async (taskId) => {
      const hash = await redis.hgetall(keys.pollTask(taskId));
      if (Object.keys(hash).length === 0) return null;
      const parsed = RegisteredHashSchema.parse(hash);
      return {
        taskId,
        registeredAt: parsed.registered_at,
        model: parsed.meta.model === 'aleph' ? 'aleph' : 'runway',
        metadata: parsed.meta,
        polls: parsed.polls,
        intervalS: parsed.interval_s,
        lastState: parsed.last_state,
        terminalAt: parsed.terminal_at,
        terminalReason: parsed.terminal_reason,
      };
    },
    counts: async (nowMs) => {
      const [open, due] = await Promise.all([
        redis.zcard(keys.pollDue),
        redis.zcount(keys.pollDue, '-inf', String(nowMs)),
      ]);
      return { open, due };
    },
  };
}
