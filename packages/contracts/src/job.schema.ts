import { z } from 'zod';
import { type CallbackOutcome, CallbackSchema } from './callback.schema.js';

/** Default BullMQ queue name of the callbacks (overridable by `QUEUE_NAME`). */
export const DEFAULT_QUEUE_NAME = 'runway-callbacks';

/** BullMQ job name of a callback job. */
export const CALLBACK_JOB_NAME = 'callback';

/**
 * How the sender of a callback was authenticated. `provider_api`: not a callback at all but the
 * answer of the provider's task-detail API, fetched by the reconciler with our API key over TLS.
 * `operator_replay`: a quarantined body an
 * operator replayed from the dashboard (behind its basic auth).
 */
export const AuthMethodSchema = z.enum([
  'provider_hmac',
  'standard_webhooks',
  'path_token',
  'ip_allowlist',
  'none',
  'provider_api',
  'operator_replay',
]);
export type AuthMethod = z.infer<typeof AuthMethodSchema>;

/** Data of one job on the callbacks queue; validated before enqueue and after dequeue. */
export const CallbackJobSchema = z.object({
  v: z.literal(1),
  /**
   * Where the outcome came from: a `callback` the provider posted (also when absent: jobs
   * queued before the field existed), or a `poll` of the provider's task-detail API by the
   * reconciler, for a task whose callback never came.
   */
  source: z.enum(['callback', 'poll']).optional(),
  callback: CallbackSchema,
  receipt: z.object({
    received_at: z.iso.datetime(),
    request_id: z.string(),
    source_ip: z.string(),
    auth: z.array(AuthMethodSchema),
    path: z.string(),
  }),
  /** Fields of the body we do not model (passthrough), kept for the record. */
  extra: z.record(z.string(), z.unknown()),
});
export type CallbackJob = z.infer<typeof CallbackJobSchema>;

/**
 * Deterministic job id: at most one success job and one failure job per task, whatever
 * the number of deliveries. BullMQ ignores an `add` whose id exists, which is what makes
 * a re-add after a crash safe. (Custom ids may not contain ':'.)
 */
export function jobIdFor(taskId: string, outcome: CallbackOutcome): string {
  return `${taskId}.${outcome}`;
}
