import { z } from 'zod';
import { CommonEnvSchema, refineCommonEnv } from './common.js';
import { DeliveryEnvSchema, refineDeliveryEnv } from './delivery.js';
import { envInt, envPort, parseEnv } from './env.js';
import { JobPolicyEnvSchema } from './job-policy.js';
import { ProviderEnvSchema, PublicCallbackEnvSchema, ReconcileEnvSchema, refineReconcileEnv } from './provider.js';
import { StorageEnvSchema } from './worker.js';

/** Credentials filled in when `NODE_ENV=development` leaves them unset. */
export const DEV_DASHBOARD_CREDENTIALS = { user: 'admin', password: 'admin' } as const;

/**
 * Variables of the dashboard (Bull Board + admin API). Storage settings are read to presign
 * GET URLs of stored media. `DASHBOARD_USER` / `DASHBOARD_PASSWORD` are optional in the
 * shape so that development can run without them; the refinement requires them elsewhere.
 */
export const DashboardEnvSchema = CommonEnvSchema.extend(JobPolicyEnvSchema.shape)
  .extend(StorageEnvSchema.shape)
  .extend(DeliveryEnvSchema.shape)
  // The registration API (`POST /api/tasks`, `POST /api/generate`): the provider's API, the
  // reconciler's first-poll delay and record life, and the callback URL sent with generations.
  .extend(ProviderEnvSchema.shape)
  .extend(ReconcileEnvSchema.shape)
  .extend(PublicCallbackEnvSchema.shape)
  .extend({
    /** Interface of the internal dashboard listener (keep it off the public network). */
    DASHBOARD_HOST: z.string().default('0.0.0.0'),
    DASHBOARD_PORT: envPort(3001),
    /** Basic-auth user; required unless NODE_ENV=development (then `admin`). */
    DASHBOARD_USER: z.string().min(1).max(256).optional(),
    /** Basic-auth password; required unless NODE_ENV=development (then `admin`). */
    DASHBOARD_PASSWORD: z.string().min(1).max(1024).optional(),
    /**
     * Failed logins allowed per address within `DASHBOARD_AUTH_WINDOW_S`; after them every
     * request from that address is answered 429 until the window ends.
     */
    DASHBOARD_AUTH_MAX_FAILURES: envInt(10, 1, 10_000),
    /** Seconds of that window, counted from the address's first failure. */
    DASHBOARD_AUTH_WINDOW_S: envInt(60, 1, 86_400),
    /**
     * Jobs Bull Board's "Retry all" re-runs per request on the callbacks queue, each with the
     * task-record preparation of a re-process (docs/dashboard.md, "From Bull Board"); press it
     * again for the rest.
     */
    DASHBOARD_RETRY_ALL_MAX: envInt(100, 1, 1000),
    /**
     * Base URL put in presigned media links when the browser reaches the store under another
     * name than the services do (compose: `http://localhost:9000` vs `http://minio:9000`).
     * Unset: `S3_ENDPOINT`.
     */
    S3_PUBLIC_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /** Lifetime of presigned media URLs, in seconds (S3 allows at most 7 days). */
    PRESIGN_EXPIRY_S: envInt(900, 1, 604_800),
    /** ms in-flight requests get on SIGTERM before the process exits anyway. */
    SHUTDOWN_GRACE_MS: envInt(5000, 0, 600_000),
  })
  .superRefine((env, ctx) => {
    refineCommonEnv(env, ctx);
    refineDeliveryEnv(env, ctx);
    refineReconcileEnv(env, ctx);
    if (env.NODE_ENV === 'development') return;
    for (const name of ['DASHBOARD_USER', 'DASHBOARD_PASSWORD'] as const) {
      if (env[name] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `is required when NODE_ENV=${env.NODE_ENV} (the dashboard is behind basic auth)`,
        });
      }
    }
  });

export type DashboardConfig = Readonly<
  Omit<z.infer<typeof DashboardEnvSchema>, 'DASHBOARD_USER' | 'DASHBOARD_PASSWORD'> & {
    DASHBOARD_USER: string;
    DASHBOARD_PASSWORD: string;
    /** True when the development credentials were filled in: `main.ts` warns about it. */
    defaultCredentials: boolean;
  }
>;

/** Parses the dashboard's environment; throws a `ConfigError` naming each bad variable. */
export function loadDashboardConfig(env: NodeJS.ProcessEnv = process.env): DashboardConfig {
  const parsed = parseEnv(DashboardEnvSchema, env);
  // The refinement guarantees both are set outside development.
  const defaultCredentials = parsed.DASHBOARD_USER === undefined || parsed.DASHBOARD_PASSWORD === undefined;
  return Object.freeze({
    ...parsed,
    DASHBOARD_USER: parsed.DASHBOARD_USER ?? DEV_DASHBOARD_CREDENTIALS.user,
    DASHBOARD_PASSWORD: parsed.DASHBOARD_PASSWORD ?? DEV_DASHBOARD_CREDENTIALS.password,
    defaultCredentials,
  });
}
