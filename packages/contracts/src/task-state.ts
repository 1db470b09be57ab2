import { z } from 'zod';
import { CallbackSummarySchema, StoredObjectSchema } from './event.schema.js';
import { FailureCategorySchema } from './failure-taxonomy.js';
import { type CallbackJob, CallbackJobSchema } from './job.schema.js';
import { jsonText } from './json-text.js';

/**
 * Lifecycle of a task as the relay sees it:
 * accepted (callback durable, job queued) → processing → stored | failed.
 * A success callback that arrives after a failure moves the task back to accepted.
 * `held`: two authenticated callbacks disagree (see {@link ConflictRecordSchema}); the media
 * are kept unverified and no outcome event is sent until the conflict is resolved.
 */
export const TaskStatusSchema = z.enum(['accepted', 'processing', 'stored', 'failed', 'held']);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

const jsonField = <T extends z.ZodType>(schema: T) => jsonText(schema).optional();

const int = z.coerce.number().int();

/**
 * A later authenticated callback that disagrees with the accepted one, kept whole on the task
 * so that an operator (or the provider's API) can choose it: `job` is the job it would have
 * made.
 */
export const ConflictRecordSchema = z.object({
  fingerprint: z.string(),
  summary: CallbackSummarySchema,
  job: CallbackJobSchema,
});
export type ConflictRecord = z.infer<typeof ConflictRecordSchema>;

/** The task hash in Redis (HGETALL gives strings; this parses them). */
export const TaskStateSchema = z.object({
  status: TaskStatusSchema,
  accepted_outcome: z.enum(['success', 'failure']),
  code: int,
  msg: z.string().default(''),
  video_id: z.string().optional(),
  first_received_at: int,
  last_received_at: int,
  deliveries: int.default(1),
  duplicates: int.default(0),
  attempts: int.default(0),
  updated_at: int.optional(),
  video: jsonField(StoredObjectSchema),
  cover: jsonField(StoredObjectSchema),
  error_category: FailureCategorySchema.optional(),
  error_detail: z.string().optional(),
  job_id: z.string().optional(),
  /** {@link callbackFingerprint} of the accepted callback. */
  content_fp: z.string().optional(),
  /** Summary of the accepted callback. */
  content: jsonField(CallbackSummarySchema),
  /** Unix seconds of the provider signature the accepted callback came with, if any. */
  sig_ts: int.optional(),
  conflict: jsonField(ConflictRecordSchema),
  conflict_state: z.enum(['open', 'resolved']).optional(),
  /** Conflicting deliveries seen (a conflict's repeats included). */
  conflicts: int.default(0),
  /** Bumped when an operator's resolution re-runs the task, so its new events get new ids. */
  revision: int.default(0),
});
export type TaskState = z.infer<typeof TaskStateSchema>;

/** Parses a HGETALL reply; `null` when the task is unknown. */
export function parseTaskState(hash: Record<string, string>): TaskState | null {
  if (Object.keys(hash).length === 0) return null;
  return TaskStateSchema.parse(hash);
}

/**
 * The task record's fields of a newly accepted callback, as the ingress's claim script writes
 * them: written again when a conflict is settled (by an operator, or by the provider's API).
 * `summaryJson` is the callback's summary (`summarizeCallback`) as JSON.
 */
export function acceptedCallbackFields(job: CallbackJob, fingerprint: string, summaryJson: string) {
  const { callback } = job;
  return {
    accepted_outcome: callback.outcome,
    code: callback.code,
    msg: callback.msg,
    video_id: callback.video_id ?? '',
    content_fp: fingerprint,
    content: summaryJson,
  };
}
