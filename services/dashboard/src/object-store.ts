import type { StorageConfig } from '@runway-relay/contracts';
import { createMinioClient, createObjectStore, type ObjectStore } from '@runway-relay/storage';

export interface DashboardStorageConfig extends StorageConfig {
  /** Base URL browsers use for the store, when it differs from `S3_ENDPOINT`. */
  S3_PUBLIC_ENDPOINT?: string | undefined;
}

/**
 * The worker's object store, except that presigned URLs are signed for
 * `S3_PUBLIC_ENDPOINT` when set: a signature covers the host, so a link made for
 * `http://minio:9000` cannot be rewritten for the browser afterwards. Presigning needs no
 * network call (the region is configured), so the public name need not resolve here.
 */
export function createDashboardStore(config: DashboardStorageConfig): ObjectStore {
  const internal = createObjectStore(createMinioClient(config), config);
  if (!config.S3_PUBLIC_ENDPOINT) return internal;
  const external = createObjectStore(createMinioClient({ ...config, S3_ENDPOINT: config.S3_PUBLIC_ENDPOINT }), config);
  return { ...internal, presign: external.presign };
}
