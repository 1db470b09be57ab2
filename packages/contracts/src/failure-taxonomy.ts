import { z } from 'zod';

/** Categories of a failure reported by the provider in a callback (docs/architecture.md §7). */
export const PROVIDER_CATEGORIES = [
  'content_policy',
  'prompt_moderation',
  'invalid_image_format',
  'unsupported_dimensions',
  'invalid_input',
  'quota_exceeded',
  'concurrency_limit',
  'provider_error',
  'client_error',
  'unknown',
] as const;

/** Categories of a failure on our side while saving the media. */
export const DELIVERY_CATEGORIES = [
  'link_expired',
  'source_unavailable',
  'timeout',
  'too_large',
  'content_type_mismatch',
  'blocked_url',
  'storage_error',
  // The job's worker died every time it ran it (crash, out of memory, killed), until BullMQ's
  // stalled-job limit failed it.
  'interrupted',
  // A fault of the worker itself (its Redis, a bug): neither the source nor the object store.
  'internal',
  // Neither a callback nor the provider's task-detail API gave a final state within
  // RECONCILE_MAX_AGE_S: the reconciler stopped asking.
  'no_outcome',
  // A callback the provider's task-detail API refuses to confirm: it does not know the task
  // (a bad request, e.g. 404). Nothing was downloaded; a signature alone is not trusted.
  'unverified',
] as const;

export const FailureCategorySchema = z.enum([...PROVIDER_CATEGORIES, ...DELIVERY_CATEGORIES]);
export type FailureCategory = z.infer<typeof FailureCategorySchema>;

/** What the user (or operator) should do about a failure. */
export const SuggestedActionSchema = z.enum([
  'replace_media',
  'revise_prompt',
  'fix_input',
  'resize_input',
  'upgrade_plan_or_wait',
  'retry_later',
  'inspect',
  'resubmit_task',
  'check_storage',
  'contact_provider',
]);
export type SuggestedAction = z.infer<typeof SuggestedActionSchema>;

export const FailureSourceSchema = z.enum(['provider', 'download', 'storage', 'worker']);
export type FailureSource = z.infer<typeof FailureSourceSchema>;

export interface FailureClass {
  category: FailureCategory;
  /**
   * Would submitting again, or retrying later, plausibly help? The category's default: an event
   * carries the failing error's own answer when it gives one (a 400 from the media host is a
   * `source_unavailable` that retrying will not fix).
   */
  retryable: boolean;
  action: SuggestedAction;
}

/** The one table of category → retryable / action, so events and docs never disagree. */
export const FAILURE_TAXONOMY: Readonly<Record<FailureCategory, Omit<FailureClass, 'category'>>> = Object.freeze({
  content_policy: { retryable: false, action: 'replace_media' },
  prompt_moderation: { retryable: false, action: 'revise_prompt' },
  invalid_image_format: { retryable: false, action: 'fix_input' },
  unsupported_dimensions: { retryable: false, action: 'resize_input' },
  invalid_input: { retryable: false, action: 'fix_input' },
  quota_exceeded: { retryable: true, action: 'upgrade_plan_or_wait' },
  concurrency_limit: { retryable: true, action: 'retry_later' },
  provider_error: { retryable: true, action: 'retry_later' },
  client_error: { retryable: false, action: 'inspect' },
  unknown: { retryable: false, action: 'inspect' },
  // The provider's link is dead: only generating the video again brings it back.
  link_expired: { retryable: false, action: 'resubmit_task' },
  source_unavailable: { retryable: true, action: 'retry_later' },
  timeout: { retryable: true, action: 'retry_later' },
  too_large: { retryable: false, action: 'inspect' },
  content_type_mismatch: { retryable: false, action: 'contact_provider' },
  blocked_url: { retryable: false, action: 'inspect' },
  storage_error: { retryable: true, action: 'check_storage' },
  interrupted: { retryable: true, action: 'retry_later' },
  // Usually the worker's Redis (failover, a full or read-only server): retrying once it is back helps.
  internal: { retryable: true, action: 'inspect' },
  // Asking again will not help; the provider (or a new submission) might.
  no_outcome: { retryable: false, action: 'contact_provider' },
  // Asking again gets the same refusal: someone must look at who sent it.
  unverified: { retryable: false, action: 'inspect' },
});

export function failureClass(category: FailureCategory): FailureClass {
  return { category, ...FAILURE_TAXONOMY[category] };
}
