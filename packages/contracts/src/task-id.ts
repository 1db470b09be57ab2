import { z } from 'zod';

/**
 * A provider task id. It becomes part of Redis keys, BullMQ job ids and object keys,
 * so only a conservative character set is accepted (UUIDs and the Aleph ids fit). It is not
 * trimmed: the provider's signature covers the id as sent, so the id verified must be the id
 * stored, and a padded id is refused rather than silently changed.
 */
export const TaskIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ -');

export type TaskId = z.infer<typeof TaskIdSchema>;
