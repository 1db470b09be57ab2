import type { RedisClient } from '@runway-relay/runtime';

export interface QuarantineEntry {
  received_at: string;
  request_id: string;
  source_ip: string;
  path: string;
  issues: Array<{ path: string; message: string }>;
  /** The body exactly as received (bounded by the body limit). */
  body: string;
}

/**
 * Keeps an authenticated body that failed the schema in a capped list (newest first), so
 * nothing from an authenticated sender silently vanishes; an operator can inspect it.
 */
export async function quarantineBody(
  redis: RedisClient,
  key: string,
  maxlen: number,
  entry: QuarantineEntry,
): Promise<void> {
  await redis
    .multi()
    .lpush(key, JSON.stringify(entry))
    .ltrim(key, 0, maxlen - 1)
    .exec();
}
