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
});
export type TaskFailedEvent = z.infer<typeof TaskFailedEventSchema>;

/** Every event on the relay's Redis Stream, versioned by `v`. */
export const RelayEventSchema = z.discriminatedUnion('type', [MediaStoredEventSchema, TaskFailedEventSchema]);
export type RelayEvent = z.infer<typeof RelayEventSchema>;
export type RelayEventType = RelayEvent['type'];
