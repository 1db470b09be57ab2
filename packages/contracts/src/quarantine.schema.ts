import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CallbackRejectedEvent } from './event.schema.js';
import { TaskIdSchema } from './task-id.js';

/** An issue of the callback schema, by field: `{path: "data.video_url", message: …}`. */
export const CallbackIssueSchema = z.object({ path: z.string(), message: z.string() });
export type CallbackIssue = z.infer<typeof CallbackIssueSchema>;

/** `q_` and 32 hex digits. */
export const QuarantineIdSchema = z.string().regex(/^q_[0-9a-f]{32}$/, 'must be a quarantine id such as q_<32 hex>');

/**
 * An authenticated callback body that failed the schema (HTTP 422), kept for an operator:
 * `RelayKeys.quarantineEntries` maps its id to this, as JSON (docs/dashboard.md, "Quarantine").
 */
export const QuarantineEntrySchema = z.object({
  id: QuarantineIdSchema,
  received_at: z.iso.datetime(),
  request_id: z.string(),
  source_ip: z.string(),
  path: z.string(),
  /** The body's task id when it names a valid one (then a `callback.rejected` event was sent). */
  task_id: TaskIdSchema.nullable(),
  issues: z.array(CallbackIssueSchema),
  /** The body exactly as received (bounded by the ingress's body limit). */
  body: z.string(),
});
export type QuarantineEntry = z.infer<typeof QuarantineEntrySchema>;

/**
 * The id of a quarantined body: derived from its bytes, so the same body refused twice is one
 * entry (and one `callback.rejected` event id), not two.
 */
export function quarantineIdFor(rawBody: string): string {
  return `q_${createHash('sha256').update(rawBody).digest('hex').slice(0, 32)}`;
}

/** The `callback.rejected` event of a quarantined body that names a task; null when it names none. */
export function buildCallbackRejectedEvent(
  entry: QuarantineEntry,
  providerCode: unknown,
): CallbackRejectedEvent | null {
  if (entry.task_id === null || entry.issues.length === 0) return null;
  return {
    v: 1,
    id: `evt_${entry.id}_callback.rejected`,
    type: 'callback.rejected',
    task_id: entry.task_id,
    at: entry.received_at,
    quarantine_id: entry.id,
    // Only a safe integer: the event schema's int() refuses 2^53 and beyond, which a hostile body may send.
    provider_code: typeof providerCode === 'number' && Number.isSafeInteger(providerCode) ? providerCode : null,
    issues: entry.issues,
  };
}
