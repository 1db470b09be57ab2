import { z } from 'zod';
import { envInt } from './env.js';

/** The provider's API, which the reconciler asks about tasks whose callback never came. */
export const ProviderEnvSchema = z.object({
  /** Base URL of the provider's API (no trailing path). Default `https://api.kie.ai`. */
  PROVIDER_API_URL: z
    .url({ protocol: /^https?$/ })
    .transform((url) => url.replace(/\/+$/, ''))
    .default('https://api.kie.ai'),
  /**
   * Bearer key of the provider's API (secret: never logged). Unset: the relay cannot ask the
   * provider, so the reconciler does not run.
   */
  PROVIDER_API_KEY: z.string().min(1).max(512).optional(),
  /** ms one request to the provider's API may take, connect to last byte. Default 10000. */
  PROVIDER_TIMEOUT_MS: envInt(10_000, 100, 300_000),
  /** Requests per second to the provider's API, shared by every process (Redis token bucket). Default 5. */
  PROVIDER_RPS: z.coerce.number().gt(0).max(10_000).default(5),
  /** Requests that may go at once after a quiet spell (the bucket's size). Default 10. */
  PROVIDER_BURST: envInt(10, 1, 100_000),
  /**
   * Verified callbacks: before downloading, the worker asks the provider's task-detail API and
   * uses its answer (docs/security.md, "Verified callbacks"). Unset: on exactly when
   * `PROVIDER_API_KEY` is set; `true` without a key is a config error (read with {@link providerVerifyOn}).
   */
  PROVIDER_VERIFY: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes')),
});
export type ProviderConfig = z.infer<typeof ProviderEnvSchema>;

/** Whether callbacks are verified against the provider's API: `PROVIDER_VERIFY`, else whether a key is set. */
export function providerVerifyOn(config: Pick<ProviderConfig, 'PROVIDER_VERIFY' | 'PROVIDER_API_KEY'>): boolean {
  return config.PROVIDER_VERIFY ?? config.PROVIDER_API_KEY !== undefined;
}

/** Cross-field rules of {@link ProviderEnvSchema}, called from the worker schema's `superRefine`. */
export function refineProviderEnv(env: ProviderConfig, ctx: z.RefinementCtx): void {
  if (env.PROVIDER_VERIFY === true && env.PROVIDER_API_KEY === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['PROVIDER_VERIFY'],
      message: 'is true but PROVIDER_API_KEY is not set: verifying callbacks needs the provider API key',
    });
  }
}

/** When and how long the reconciler polls a registered task (docs/worker.md, "The reconciler"). */
export const ReconcileEnvSchema = z.object({
  /** Seconds after registration before the first poll: the callback usually comes first. Default 1500. */
  RECONCILE_AFTER_S: envInt(1500, 0, 14 * 86_400),
  /** Seconds between the first polls of a task still running; doubles each poll. Default 300. */
  RECONCILE_INTERVAL_S: envInt(300, 1, 86_400),
  /** Longest interval between polls of one task, seconds. Default 3600. */
  RECONCILE_MAX_INTERVAL_S: envInt(3600, 1, 7 * 86_400),
  /** Seconds after registration when the reconciler gives up (`no_outcome`). Default 259200 (3 days). */
  RECONCILE_MAX_AGE_S: envInt(259_200, 1, 14 * 86_400),
  /** Seconds between reconcile passes (one BullMQ job scheduler for all processes). Default 30. */
  RECONCILE_PASS_S: envInt(30, 1, 3600),
});
export type ReconcileConfig = z.infer<typeof ReconcileEnvSchema>;

/** Where the provider sends the callbacks of tasks the dashboard submits (`POST /api/generate`). */
export const PublicCallbackEnvSchema = z.object({
  /**
   * The ingress's public callback URL, e.g. `https://relay.example.com/callbacks/runway`, sent
   * as `callBackUrl` with each generation the dashboard submits. Unset: `POST /api/generate`
   * answers 503 `public_callback_url_unset`.
   */
  PUBLIC_CALLBACK_URL: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
});

/**
 * Seconds a registered task's record is kept: past the reconciler's maximum age and the task
 * record's own life, so registering the same id again stays a no-op for as long as either exists.
 */
export function registryTtlSeconds(config: Pick<ReconcileConfig, 'RECONCILE_MAX_AGE_S'> & { TASK_TTL_DAYS: number }) {
  return config.RECONCILE_MAX_AGE_S + config.TASK_TTL_DAYS * 86_400;
}

/** Cross-field rules of {@link ReconcileEnvSchema}, called from the worker schema's `superRefine`. */
export function refineReconcileEnv(env: ReconcileConfig, ctx: z.RefinementCtx): void {
  if (env.RECONCILE_MAX_INTERVAL_S < env.RECONCILE_INTERVAL_S) {
    ctx.addIssue({
      code: 'custom',
      path: ['RECONCILE_MAX_INTERVAL_S'],
      message: `must be at least RECONCILE_INTERVAL_S (${env.RECONCILE_INTERVAL_S})`,
    });
  }
}
