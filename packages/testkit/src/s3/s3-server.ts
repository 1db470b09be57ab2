import * as Minio from 'minio';
import { z } from 'zod';
import { containerRuntimeAvailable, startMinioContainer } from './minio-container.js';
import { minioClientOptions, type S3Harness } from './s3-harness.js';
import { startS3rver } from './s3rver-backend.js';

/** Options of {@link startS3Server}. */
export interface S3ServerOptions {
  /** Buckets created before the harness is returned (existing ones are kept). Default: none. */
  buckets?: string[];
  /** Environment to read `S3_*` from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

const ExternalEnvSchema = z.object({
  S3_ENDPOINT: z.url(),
  S3_ACCESS_KEY: z.string().min(1, 'S3_ACCESS_KEY is required with S3_ENDPOINT'),
  S3_SECRET_KEY: z.string().min(1, 'S3_SECRET_KEY is required with S3_ENDPOINT'),
  S3_REGION: z.string().min(1).default('us-east-1'),
});

function unsupported(what: string): () => Promise<void> {
  return () => Promise.reject(new Error(`${what}() is not possible with an external S3_ENDPOINT`));
}

function externalHarness(env: NodeJS.ProcessEnv): S3Harness {
  const parsed = ExternalEnvSchema.parse(env);
  return {
    kind: 'external',
    endpoint: parsed.S3_ENDPOINT.replace(/\/+$/, ''),
    accessKey: parsed.S3_ACCESS_KEY,
    secretKey: parsed.S3_SECRET_KEY,
    region: parsed.S3_REGION,
    dataDir: undefined,
    // Someone else owns that server: never stop it.
    stop: async () => undefined,
    suspend: unsupported('suspend'),
    resume: unsupported('resume'),
    restart: unsupported('restart'),
  };
}

async function ensureBuckets(harness: S3Harness, buckets: readonly string[]): Promise<void> {
  if (buckets.length === 0) return;
  const client = new Minio.Client(minioClientOptions(harness));
  for (const bucket of buckets) {
    if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket, harness.region);
  }
}

/**
 * Starts (or points at) an S3-compatible server for tests, in this order of preference:
 * 1. `S3_ENDPOINT` (with `S3_ACCESS_KEY`, `S3_SECRET_KEY`, optional `S3_REGION`) when set — `stop()`
 *    is then a no-op and outage helpers reject;
 * 2. MinIO in a container when a Docker engine answers (checked once per process);
 * 3. s3rver on 127.0.0.1 with a fresh temp data directory, patched for the `minio` client.
 *
 * Call `stop()` when done (it removes the data). `restart()` keeps port and data.
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Harness> {
  const env = options.env ?? process.env;
  const buckets = options.buckets ?? [];
  if (env.S3_ENDPOINT) {
    const harness = externalHarness(env);
    await ensureBuckets(harness, buckets);
    return harness;
  }
  const container = (await containerRuntimeAvailable(env))
    ? // An engine that answers but cannot run MinIO (no image, no network): use s3rver instead.
      await startMinioContainer().catch(() => undefined)
    : undefined;
  if (!container) return startS3rver(buckets);
  try {
    await ensureBuckets(container, buckets);
  } catch (error) {
    await container.stop();
    throw error;
  }
  return container;
}
