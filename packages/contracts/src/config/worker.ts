import { z } from 'zod';
import { CommonEnvSchema, refineCommonEnv } from './common.js';
import { DeliveryEnvSchema, refineDeliveryEnv } from './delivery.js';
import { envBoolean, envInt, envList, envPort, parseEnv } from './env.js';
import { JobPolicyEnvSchema } from './job-policy.js';
import { ProviderEnvSchema, ReconcileEnvSchema, refineProviderEnv, refineReconcileEnv } from './provider.js';

export const StorageEnvSchema = z.object({
  /** S3 endpoint URL, e.g. http://minio:9000. */
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:9000'),
  S3_ACCESS_KEY: z.string().default('minioadmin'),
  S3_SECRET_KEY: z.string().default('minioadmin'),
  S3_REGION: z.string().default('us-east-1'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
    .default('runway-media'),
  /** Key prefix inside the bucket: `<prefix>/<task_id>/video.mp4`. */
  S3_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._/-]*$/)
    .transform((p) => p.replace(/^\/+|\/+$/g, ''))
    .default('runway'),
  /**
   * Multipart part size in bytes. The minio client buffers one part in memory and, for a
   * stream of unknown size, would otherwise pick 528 MiB parts (measured in docs/worker.md).
   */
  S3_PART_SIZE: envInt(8 * 1024 * 1024, 5 * 1024 * 1024, 512 * 1024 * 1024),
});
export type StorageConfig = z.infer<typeof StorageEnvSchema>;

export const DownloadEnvSchema = z.object({
  /** Largest object accepted, in bytes (default 2 GiB). */
  DOWNLOAD_MAX_BYTES: envInt(2 * 1024 ** 3, 1),
  /** TCP + TLS connect timeout, ms. */
  DOWNLOAD_CONNECT_TIMEOUT_MS: envInt(10_000, 1),
  /** Time to the response headers, ms. */
  DOWNLOAD_TIMEOUT_MS: envInt(30_000, 1),
  /** Longest silence while the body streams, ms. */
  DOWNLOAD_IDLE_TIMEOUT_MS: envInt(30_000, 1),
  /**
   * Longest whole transfer of one media file, ms (default 30 min: 2 GiB at ~1.2 MB/s). The
   * idle timeout alone never cuts a source that trickles a byte just inside it.
   */
  DOWNLOAD_MAX_DURATION_MS: envInt(1_800_000, 1),
  DOWNLOAD_MAX_REDIRECTS: envInt(3, 0, 20),
  /** Host allow-list (exact names or `*.example.com`); empty: any public host. */
  DOWNLOAD_ALLOWED_HOSTS: envList,
  /** Allow loopback/private/link-local targets: tests and local simulators only. */
  DOWNLOAD_ALLOW_PRIVATE: envBoolean(false),
  /** Allow plain http URLs (https only by default). */
  DOWNLOAD_ALLOW_HTTP: envBoolean(false),
});
export type DownloadConfig = z.infer<typeof DownloadEnvSchema>;

export const WorkerEnvSchema = CommonEnvSchema.extend(JobPolicyEnvSchema.shape)
  .extend(StorageEnvSchema.shape)
  .extend(DownloadEnvSchema.shape)
  .extend(ProviderEnvSchema.shape)
  .extend(ReconcileEnvSchema.shape)
  .extend(DeliveryEnvSchema.shape)
  .extend({
    WORKER_CONCURRENCY: envInt(8, 1, 1000),
    /** ms a job's lock lasts without renewal; a killed worker's job is taken over after it. */
    WORKER_LOCK_MS: envInt(30_000, 500),
    /** ms between checks for stalled jobs (jobs of dead workers). */
    WORKER_STALLED_INTERVAL_MS: envInt(30_000, 200),
    /** Times a job may stall (its worker died) before it fails. */
    WORKER_MAX_STALLED: envInt(3, 0, 100),
    WORKER_METRICS_HOST: z.string().default('0.0.0.0'),
    WORKER_METRICS_PORT: envPort(9464),
    /**
     * Set as for the ingress: replicas acknowledging every callback. Read only by the start
     * check, where above 0 a Redis without AOF passes. Default 0.
     */
    REDIS_WAIT_REPLICAS: envInt(0, 0, 16),
    /** ms running jobs get to finish on SIGTERM. */
    SHUTDOWN_GRACE_MS: envInt(25_000, 0, 600_000),
    /**
     * Seconds between sweeps of stale incomplete multipart uploads under `S3_PREFIX` (one runs
     * at start too); 0 turns the sweep off (a bucket lifecycle rule does it). Default 1 h, at most 7 days.
     */
    S3_SWEEP_INTERVAL_S: envInt(3600, 0, 604_800),
    /**
     * Age in seconds from which an incomplete upload is stale and swept. Must exceed
     * `DOWNLOAD_MAX_DURATION_MS`, so no running transfer's upload is ever swept. Default 6 h.
     */
    S3_STALE_UPLOAD_S: envInt(21_600, 1),
  })
  .superRefine(refineCommonEnv)
  .superRefine(refineReconcileEnv)
  .superRefine(refineProviderEnv)
  .superRefine(refineDeliveryEnv)
  .superRefine((env, ctx) => {
    if (env.S3_STALE_UPLOAD_S * 1000 <= env.DOWNLOAD_MAX_DURATION_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['S3_STALE_UPLOAD_S'],
        message: `must be longer than DOWNLOAD_MAX_DURATION_MS (${env.DOWNLOAD_MAX_DURATION_MS} ms): a running transfer's upload would be swept`,
      });
    }
  });

export type WorkerConfig = Readonly<z.infer<typeof WorkerEnvSchema>>;

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnv(WorkerEnvSchema, env);
}
