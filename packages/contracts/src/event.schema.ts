import { z } from 'zod';
import { FailureCategorySchema, FailureSourceSchema, SuggestedActionSchema } from './failure-taxonomy.js';
import { TaskIdSchema } from './task-id.js';

export const MediaKindSchema = z.enum(['video', 'cover']);
export type MediaKind = z.infer<typeof MediaKindSchema>;

export const StoredObjectSchema = z.object({
  kind: MediaKindSchema,
  bucket: z.string(),
  key: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  content_type: z.string(),
});
export type StoredObject = z.infer<typeof StoredObjectSchema>;

/**
 * Labels registered with a task (dashboard `POST /api/tasks` or `POST /api/generate`), given
 * back on its outcome event: at most 32 entries, keys up to 64 and values up to 1024 characters.
 */
export const TaskLabelsSchema = z
  .record(z.string().min(1).max(64), z.string().max(1024))
  .refine((labels) => Object.keys(labels).length <= 32, 'at most 32 entries');
export type TaskLabels = z.infer<typeof TaskLabelsSchema>;

const EventBase = z.object({
  v: z.literal(1),
  /** Unique per event; consumers may use it to deduplicate. */
  id: z.string(),
  task_id: TaskIdSchema,
  at: z.iso.datetime(),
});

/** The video (and cover, when there is one) are in the bucket. */
export const MediaStoredEventSchema = EventBase.extend({
  type: z.literal('media.stored'),
  video_id: z.string().nullable(),
  objects: z.array(StoredObjectSchema).min(1),
  timings: z.object({
    /** From the callback's receipt at the ingress to the event, in ms. */
    total_ms: z.number().nonnegative(),
    /** Time spent downloading and uploading in the final attempt, in ms. */
    transfer_ms: z.number().nonnegative(),
  }),
  attempts: z.number().int().positive(),
  /** Media that could not be saved for good while the video was (today: only a cover). */
  missing: z
    .array(z.object({ kind: MediaKindSchema, category: FailureCategorySchema, detail: z.string() }))
    .default([]),
  /** What made the job: the provider's `callback`, or a `poll` of its API by the reconciler. Absent: a callback. */
  source: z.enum(['callback', 'poll']).optional(),
  /** The labels registered with the task, when it was registered with some. */
  metadata: TaskLabelsSchema.optional(),
});
export type MediaStoredEvent = z.infer<typeof MediaStoredEventSchema>;

/** The task ended without stored media; `category`, `retryable` and `action` say what to do. */
export const TaskFailedEventSchema = EventBase.extend({
  type: z.literal('task.failed'),
  video_id: z.string().nullable(),
  source: FailureSourceSchema,
  category: FailureCategorySchema,
  retryable: z.boolean(),
  action: SuggestedActionSchema,
  provider_code: z.number().int().nullable(),
  provider_message: z.string().nullable(),
  /** Our own error text for download/storage failures (no signed query strings). */
  detail: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  /** The labels registered with the task, when it was registered with some. */
  metadata: TaskLabelsSchema.optional(),
});
export type TaskFailedEvent = z.infer<typeof TaskFailedEventSchema>;

/**
 * What one callback said, as events and the task record show it: media URLs without their
 * query strings (signed links carry their signature there).
 */
export const CallbackSummarySchema = z.object({
  outcome: z.enum(['success', 'failure']),
  code: z.number().int(),
  msg: z.string(),
  video_id: z.string().nullable(),
  video_url: z.string().nullable(),
  image_url: z.string().nullable(),
  /** When the relay received it, ISO 8601. */
  received_at: z.iso.datetime(),
});
export type CallbackSummary = z.infer<typeof CallbackSummarySchema>;

/**
 * Two validly authenticated callbacks of one task disagree (other URLs, other outcome). The
 * provider's signature does not cover the body, so one of them may be a replay with a forged
 * body: the task's media are held as unverified until the conflict is resolved, by an
 * operator (admin API) or by asking the provider. A second event with `state: "resolved"`
 * says which side was kept.
 */
export const TaskConflictEventSchema = EventBase.extend({
  type: z.literal('task.conflict'),
  state: z.enum(['open', 'resolved']),
  /** The callback the relay had accepted first. */
  accepted: CallbackSummarySchema,
  /** The later callback that disagrees with it. */
  conflicting: CallbackSummarySchema,
  /** Set when `state` is `resolved`. */
  resolution: z
    .object({ kept: z.enum(['accepted', 'conflicting']), by: z.enum(['operator', 'provider_api']) })
    .nullable(),
});
export type TaskConflictEvent = z.infer<typeof TaskConflictEventSchema>;

/**
 * An authenticated callback for this task was refused by the schema (HTTP 422) and kept in
 * the quarantine, e.g. a success with an empty `video_url`: no job was made and no other event
 * will follow unless an operator replays it (admin API) or the provider sends a valid one.
 * `id` is `evt_<quarantine_id>_callback.rejected`: the quarantine id is derived from the body,
 * so the same body refused again gives the same event id.
 */
export const CallbackRejectedEventSchema = EventBase.extend({
  type: z.literal('callback.rejected'),
  /** Where the body is kept: `GET /api/quarantine/<quarantine_id>` on the dashboard. */
  quarantine_id: z.string(),
  /** The body's `code`, when it had an integer one. */
  provider_code: z.number().int().nullable(),
  /** What the schema refused, field by field. */
  issues: z.array(z.object({ path: z.string(), message: z.string() })).min(1),
});
export type CallbackRejectedEvent = z.infer<typeof CallbackRejectedEventSchema>;

/** Every event on the relay's Redis Stream, versioned by `v`. */
export const RelayEventSchema = z.discriminatedUnion('type', [
  MediaStoredEventSchema,
  TaskFailedEventSchema,
  TaskConflictEventSchema,
  CallbackRejectedEventSchema,
]);
export type RelayEvent = z.infer<typeof RelayEventSchema>;
export type RelayEventType = RelayEvent['type'];
