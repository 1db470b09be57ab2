import {
  buildCallbackRejectedEvent,
  type QuarantineEntry,
  QuarantineEntrySchema,
  type RelayKeys,
} from '@runway-relay/contracts';
import { type EventStreamOptions, publishEvent, type RedisClient } from '@runway-relay/runtime';

/**
 * KEYS: 1 the ids by receipt time (sorted set), 2 the entries (hash).
 * ARGV: 1 id, 2 received ms, 3 entry JSON, 4 max entries.
 * The same body again replaces its entry and moves it to now; beyond the cap the oldest go.
 */
const QUARANTINE_SCRIPT = `
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[1], excess)
  for i = 1, #oldest, 2 do redis.call('HDEL', KEYS[2], oldest[i]) end
end
return 1
`;

/**
 * Keeps an authenticated body that failed the schema (capped at `maxlen`, oldest dropped), so
 * nothing from an authenticated sender silently vanishes: the dashboard lists, replays and
 * discards them (docs/dashboard.md, "Quarantine").
 */
export async function quarantineBody(
  redis: RedisClient,
  keys: Pick<RelayKeys, 'quarantine' | 'quarantineEntries'>,
  maxlen: number,
  entry: QuarantineEntry,
): Promise<void> {
  const valid = QuarantineEntrySchema.parse(entry);
  await redis.eval(
    QUARANTINE_SCRIPT,
    2,
    keys.quarantine,
    keys.quarantineEntries,
    valid.id,
    String(Date.parse(valid.received_at)),
    JSON.stringify(valid),
    String(maxlen),
  );
}

/**
 * Tells the application that a callback of its task was refused (`callback.rejected`), so a
 * success with an empty `video_url` does not end in silence. Bodies that name no valid task
 * id have nobody to tell: they are only quarantined.
 */
export async function publishRejection(
  redis: RedisClient,
  events: EventStreamOptions,
  entry: QuarantineEntry,
  providerCode: unknown,
): Promise<boolean> {
  const event = buildCallbackRejectedEvent(entry, providerCode);
  if (event === null) return false;
  await publishEvent(redis, events, event);
  return true;
}
