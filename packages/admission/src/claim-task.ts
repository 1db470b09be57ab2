import {
  type CallbackJob,
  type CallbackSummary,
  CallbackSummarySchema,
  type ConflictRecord,
  callbackFingerprint,
  jobIdFor,
  type RelayKeys,
  summarizeCallback,
  TASK_STATUSES,
} from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';

/**
 * The dedupe decision, the replay check and the task record, in one atomic script
 * (docs/ingress.md, "Deduplication" and "Replayed signatures").
 *
 * KEYS: 1 task hash, 2 success job hash, 3 failure job hash, 4 signature replay record,
 *       5 index of all tasks, 6-10 the status indexes in {@link TASK_STATUSES} order.
 * ARGV: 1 outcome, 2 now (ms), 3 ttl (s), 4 code, 5 msg, 6 video_id, 7 job id, 8 unused (''),
 *       9 content fingerprint, 10 content summary JSON, 11 conflict record JSON ('' on the first
 *       run: most deliveries never need it, so it is only sent when the script asks for it),
 *       12 body sha256 ('' without a provider signature), 13 signature Unix seconds (''),
 *       14 replay record ttl (s), 15 task id.
 *
 * Each status it writes is also written to the task indexes (see `indexTaskStatus`, which
 * the worker and the dashboard use for the same).
 *
 * Returns `{decision, accepted summary}`; the summary only with `conflict`, the one decision that
 * needs it (it would cost every duplicate a parse). Decisions:
 * - `replayed`: the provider signature was seen before with another body (nothing written);
 * - `stale`: a success whose signature is not newer than the failure it would supersede;
 * - `new`: this delivery claimed the task: add the job;
 * - `ensure`: claimed before but the job is not in Redis yet (a concurrent delivery is adding
 *   it, or one crashed before it could): add it again, BullMQ ignores a second add of an id;
 * - `duplicate`: the same callback again;
 * - `record`: (internal) a conflict is to be recorded and ARGV 11 was empty: nothing was
 *   written but the idempotent replay record; {@link claimTask} runs the script again with it;
 * - `conflict`: an authenticated callback that disagrees with the accepted one; recorded on
 *   the task (the first one whole), the task held until it is resolved.
 * A task is only ever called duplicate when its job exists or the worker already moved it on,
 * so a crash between the claim and the add cannot swallow a provider retry.
 */
const CLAIM_SCRIPT = `
local outcome = ARGV[1]
if ARGV[12] ~= '' then
  local seen = redis.call('GET', KEYS[4])
  if seen and seen ~= ARGV[12] then return {'replayed', ''} end
  if not seen then redis.call('SET', KEYS[4], ARGV[12], 'EX', ARGV[14]) end
end
local accepted = redis.call('HGET', KEYS[1], 'accepted_outcome')
local status = redis.call('HGET', KEYS[1], 'status')
local function touch(duplicate)
  redis.call('HSET', KEYS[1], 'last_received_at', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'deliveries', 1)
  if duplicate then redis.call('HINCRBY', KEYS[1], 'duplicates', 1) end
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
local STATUS_INDEX = {accepted = 6, processing = 7, stored = 8, failed = 9, held = 10}
-- Scores the task in the set of all tasks and in its new status's set (trimming entries older
-- than the record's life), and takes it out of the set of the status it had: the script read
-- that status, so it needs no ZREM on the other three sets (indexTaskStatus, which does not
-- read it, removes from all of them). A task unknown here is in no status set: an entry left by
-- an expired earlier record of the same id is older than the TTL, so the next write to its set
-- trims it, and the worker's first write for the new job removes it from every other set.
local function index(new_status)
  local cutoff = tonumber(ARGV[2]) - tonumber(ARGV[3]) * 1000
  local target = STATUS_INDEX[new_status]
  for _, i in ipairs({5, target}) do
    redis.call('ZADD', KEYS[i], ARGV[2], ARGV[15])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', cutoff)
    redis.call('EXPIRE', KEYS[i], ARGV[3])
  end
  local previous = status and STATUS_INDEX[status]
  if previous and previous ~= target then redis.call('ZREM', KEYS[previous], ARGV[15]) end
end
local function claimed_job_exists(job_key)
  return status ~= 'accepted' or redis.call('EXISTS', job_key) == 1
end
local function conflict()
  local first = redis.call('HGET', KEYS[1], 'conflict_state') ~= 'open'
  if first and ARGV[11] == '' then return {'record', ''} end
  touch(false)
  redis.call('HINCRBY', KEYS[1], 'conflicts', 1)
  if first then
    redis.call('HSET', KEYS[1], 'conflict', ARGV[11], 'conflict_state', 'open', 'updated_at', ARGV[2])
    -- A finished task is held again; one still queued or running is held by its worker.
    if status == 'stored' or status == 'failed' then
      redis.call('HSET', KEYS[1], 'status', 'held')
      index('held')
    end
  end
  return {'conflict', redis.call('HGET', KEYS[1], 'content') or ''}
end
if accepted then
  local fingerprint = redis.call('HGET', KEYS[1], 'content_fp')
  local same = (not fingerprint) or fingerprint == ARGV[9]
  if accepted == 'failure' and outcome == 'success' then
    local failure_ts = tonumber(redis.call('HGET', KEYS[1], 'sig_ts') or '')
    local success_ts = tonumber(ARGV[13])
    if failure_ts and success_ts and success_ts <= failure_ts then return {'stale', ''} end
  elseif not same then
    return conflict()
  else
    touch(true)
    if not claimed_job_exists(accepted == 'success' and KEYS[2] or KEYS[3]) then return {'ensure', ''} end
    return {'duplicate', ''}
  end
end
-- unknown task, or a success superseding a failure
redis.call('HSET', KEYS[1], 'accepted_outcome', outcome, 'status', 'accepted', 'code', ARGV[4], 'msg', ARGV[5],
  'video_id', ARGV[6], 'job_id', ARGV[7], 'updated_at', ARGV[2], 'attempts', 0,
  'content_fp', ARGV[9], 'content', ARGV[10])
if ARGV[13] ~= '' then redis.call('HSET', KEYS[1], 'sig_ts', ARGV[13]) else redis.call('HDEL', KEYS[1], 'sig_ts') end
redis.call('HDEL', KEYS[1], 'error_category', 'error_detail')
redis.call('HSETNX', KEYS[1], 'first_received_at', ARGV[2])
touch(false)
index('accepted')
return {'new', ''}
`;

export type ClaimDecision = 'new' | 'ensure' | 'duplicate' | 'conflict' | 'replayed' | 'stale';

export interface ClaimResult {
  decision: ClaimDecision;
  /** With `conflict`: summary of the callback the task had accepted (null otherwise). */
  accepted: CallbackSummary | null;
  /** This delivery as a conflict record (kept on the task when the decision is `conflict`). */
  delivery: ConflictRecord;
}

const DECISIONS: ReadonlySet<string> = new Set(['new', 'ensure', 'duplicate', 'conflict', 'replayed', 'stale']);

interface ClaimCommand {
  relayClaimTask(...keysAndArgs: string[]): Promise<[string, string]>;
}

/** Registers the script on a connection (ioredis sends EVALSHA and falls back to EVAL). */
export function defineClaimCommand(redis: RedisClient): void {
  redis.defineCommand('relayClaimTask', { numberOfKeys: 4 + 1 + TASK_STATUSES.length, lua: CLAIM_SCRIPT });
}

/** What the replay cache needs of a provider-signed delivery. */
export interface SignedDelivery {
  /** sha256 of `<task_id>.<timestamp>.<signature>`: names the replay record. */
  signatureFingerprint: string;
  /** sha256 of the raw body. */
  bodySha256: string;
  /** Unix seconds of the signature. */
  timestamp: number;
  /** Seconds the replay record is kept: longer than the window in which the signature is accepted. */
  ttlSeconds: number;
}

export interface ClaimInput {
  /** The job this delivery makes if it claims the task. */
  job: CallbackJob;
  nowMs: number;
  ttlSeconds: number;
  /** Set when the delivery carried a valid provider signature. */
  signed?: SignedDelivery;
}

function parseSummary(text: string): CallbackSummary | null {
  if (text === '') return null;
  const parsed = CallbackSummarySchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : null;
}

/** Runs the claim script for one callback. */
export async function claimTask(redis: RedisClient, keys: RelayKeys, input: ClaimInput): Promise<ClaimResult> {
  const { job, signed } = input;
  const { callback } = job;
  const delivery: ConflictRecord = {
    fingerprint: callbackFingerprint(callback),
    summary: summarizeCallback(callback, job.receipt.received_at),
    job,
  };
  const command = redis as unknown as ClaimCommand;
  const run = (conflictRecord: string) =>
    command.relayClaimTask(
      keys.task(callback.task_id),
      keys.job(jobIdFor(callback.task_id, 'success')),
      keys.job(jobIdFor(callback.task_id, 'failure')),
      keys.signature(signed?.signatureFingerprint ?? 'none'),
      keys.taskIndex('all'),
      ...TASK_STATUSES.map((status) => keys.taskIndex(status)),
      callback.outcome,
      String(input.nowMs),
      String(input.ttlSeconds),
      String(callback.code),
      callback.msg,
      callback.video_id ?? '',
      jobIdFor(callback.task_id, callback.outcome),
      // ARGV 8 is unused: the extra fields live with the job, the record never kept a reader of them.
      '',
      delivery.fingerprint,
      JSON.stringify(delivery.summary),
      conflictRecord,
      signed?.bodySha256 ?? '',
      signed ? String(signed.timestamp) : '',
      String(signed?.ttlSeconds ?? 1),
      callback.task_id,
    );
  let [decision, accepted] = await run('');
  // A conflict to record: the same decision again, now with the record (rare; no other path needs it).
  if (decision === 'record') [decision, accepted] = await run(JSON.stringify(delivery));
  if (!DECISIONS.has(decision)) throw new Error(`unexpected claim decision ${decision}`);
  return {
    decision: decision as ClaimDecision,
    accepted: decision === 'conflict' ? parseSummary(accepted) : null,
    delivery,
  };
}
