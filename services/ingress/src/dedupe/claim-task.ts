import { type Callback, jobIdFor, type RelayKeys } from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';

/**
 * The dedupe decision and the task record, in one atomic script (DESIGN §4).
 *
 * KEYS: 1 task hash, 2 success job hash, 3 failure job hash.
 * ARGV: 1 outcome, 2 now (ms), 3 ttl (s), 4 code, 5 msg, 6 video_id, 7 job id, 8 extra JSON.
 *
 * Returns `new` (this delivery claimed the task: add the job), `ensure` (claimed before but
 * the job is not in Redis yet — a concurrent delivery is adding it, or one crashed before it
 * could: add it again, BullMQ ignores a second add of the same id) or `duplicate`.
 * A task is only ever called duplicate when its job exists or the worker already moved it on,
 * so a crash between the claim and the add cannot swallow a provider retry.
 */
const CLAIM_SCRIPT = `
local accepted = redis.call('HGET', KEYS[1], 'accepted_outcome')
local status = redis.call('HGET', KEYS[1], 'status')
local outcome = ARGV[1]
local function touch(duplicate)
  redis.call('HSET', KEYS[1], 'last_received_at', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'deliveries', 1)
  if duplicate then redis.call('HINCRBY', KEYS[1], 'duplicates', 1) end
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
local function claimed_job_exists(job_key)
  return status ~= 'accepted' or redis.call('EXISTS', job_key) == 1
end
if accepted == 'success' then
  touch(true)
  if outcome == 'success' and not claimed_job_exists(KEYS[2]) then return 'ensure' end
  return 'duplicate'
end
if accepted == 'failure' and outcome == 'failure' then
  touch(true)
  if not claimed_job_exists(KEYS[3]) then return 'ensure' end
  return 'duplicate'
end
-- unknown task, or a success superseding a failure
redis.call('HSET', KEYS[1], 'accepted_outcome', outcome, 'status', 'accepted', 'code', ARGV[4], 'msg', ARGV[5],
  'video_id', ARGV[6], 'job_id', ARGV[7], 'extra', ARGV[8], 'updated_at', ARGV[2], 'attempts', 0)
redis.call('HDEL', KEYS[1], 'error_category', 'error_detail')
redis.call('HSETNX', KEYS[1], 'first_received_at', ARGV[2])
touch(false)
return 'new'
`;

export type ClaimDecision = 'new' | 'ensure' | 'duplicate';

interface ClaimCommand {
  relayClaimTask(taskKey: string, successJobKey: string, failureJobKey: string, ...args: string[]): Promise<string>;
}

/** Registers the script on a connection (ioredis sends EVALSHA and falls back to EVAL). */
export function defineClaimCommand(redis: RedisClient): void {
  redis.defineCommand('relayClaimTask', { numberOfKeys: 3, lua: CLAIM_SCRIPT });
}

export interface ClaimInput {
  callback: Callback;
  extra: Record<string, unknown>;
  nowMs: number;
  ttlSeconds: number;
}

/** Runs the claim script for one callback. */
export async function claimTask(redis: RedisClient, keys: RelayKeys, input: ClaimInput): Promise<ClaimDecision> {
  const { callback } = input;
  const jobId = jobIdFor(callback.task_id, callback.outcome);
  const command = redis as unknown as ClaimCommand;
  const decision = await command.relayClaimTask(
    keys.task(callback.task_id),
    keys.job(jobIdFor(callback.task_id, 'success')),
    keys.job(jobIdFor(callback.task_id, 'failure')),
    callback.outcome,
    String(input.nowMs),
    String(input.ttlSeconds),
    String(callback.code),
    callback.msg,
    callback.video_id ?? '',
    jobId,
    JSON.stringify(input.extra),
  );
  if (decision !== 'new' && decision !== 'ensure' && decision !== 'duplicate') {
    throw new Error(`unexpected claim decision ${decision}`);
  }
  return decision;
}
