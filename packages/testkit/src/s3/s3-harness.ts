/** Which server answers behind a {@link S3Harness}. */
export type S3HarnessKind = 'external' | 'minio' | 's3rver';

/** A running S3-compatible server for tests, whatever backs it. */
export interface S3Harness {
  kind: S3HarnessKind;
  /** Base URL, e.g. `http://127.0.0.1:40123` (path-style addressing). */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Local directory holding the objects (s3rver only; undefined when they live elsewhere). */
  dataDir: string | undefined;
  /** Stops the server for good and removes its data (a no-op for an external endpoint). */
  stop(): Promise<void>;
  /** Stops the server, keeping its port and data, so a test can observe an outage. */
  suspend(): Promise<void>;
  /** Starts a suspended server again on the same port with the same data. */
  resume(): Promise<void>;
  /** `suspend()` then `resume()`: objects stored before are still there afterwards. */
  restart(): Promise<void>;
}

/** Options for the `minio` client (`new Minio.Client(...)`) pointing at a harness. */
export interface MinioClientOptions {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  region: string;
  pathStyle: true;
  /** Bytes per part: keeps the client from buffering 528 MiB parts for streams of unknown size. */
  partSize: number;
}

/** Default part size for test clients: 8 MiB (see the partSize trap in docs). */
export const TEST_PART_SIZE = 8 * 1024 * 1024;

/** Builds `minio` client options for `harness` (path-style, plain HTTP unless the endpoint is https). */
export function minioClientOptions(harness: S3Harness, partSize = TEST_PART_SIZE): MinioClientOptions {
  const url = new URL(harness.endpoint);
  const useSSL = url.protocol === 'https:';
  return {
    endPoint: url.hostname,
    port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port),
    useSSL,
    accessKey: harness.accessKey,
    secretKey: harness.secretKey,
    region: harness.region,
    pathStyle: true,
    partSize,
  };
}
