import { z } from 'zod';
import { StoredObjectSchema } from './event.schema.js';
import { FailureCategorySchema } from './failure-taxonomy.js';

/**
 * Lifecycle of a task as the relay sees it:
 * accepted (callback durable, job queued) → processing → stored | failed.
 * A success callback that arrives after a failure moves the task back to accepted.
 */
export const TaskStatusSchema = z.enum(['accepted', 'processing', 'stored', 'failed']);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

const jsonField = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema)
    .optional();

const int = z.coerce.number().int();

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
});
export type TaskState = z.infer<typeof TaskStateSchema>;

/** Parses a HGETALL reply; `null` when the task is unknown. */
export function parseTaskState(hash: Record<string, string>): TaskState | null {
  if (Object.keys(hash).length === 0) return null;
  return TaskStateSchema.parse(hash);
}
