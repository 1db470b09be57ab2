import type { ChainableCommander } from 'ioredis';
import { z } from 'zod';

/** What an operator did to a task from the dashboard (the admin API or Bull Board). */
export const AuditActionSchema = z.enum(['retry', 'reprocess', 'conflict_resolve', 'quarantine_replay']);
export type AuditAction = z.infer<typeof AuditActionSchema>;

/** One line of a task's audit trail (`RelayKeys.taskAudit`). */
export const AuditEntrySchema = z.object({
  at: z.iso.datetime(),
  action: AuditActionSchema,
  /** The basic-auth user who asked. */
  operator: z.string(),
  /** Where: `admin_api` or `bull_board`. */
  via: z.enum(['admin_api', 'bull_board']),
  /** The task's status before the action. */
  from_status: z.string().nullable(),
  /** Free text the operator gave (`reason`), bounded. */
  reason: z.string().max(500).nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** Entries kept per task: the newest, enough to see a history of manual re-runs. */
export const AUDIT_MAX = 50;

/** Adds to `batch` the append of `entry` to a task's audit list, capped and expiring with the task. */
export function appendAudit(
  batch: ChainableCommander,
  key: string,
  entry: AuditEntry,
  ttlSeconds: number,
): ChainableCommander {
  return batch
    .rpush(key, JSON.stringify(AuditEntrySchema.parse(entry)))
    .ltrim(key, -AUDIT_MAX, -1)
    .expire(key, ttlSeconds);
}
