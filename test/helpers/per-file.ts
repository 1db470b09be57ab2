import { perFile } from '@runway-relay/testkit/per-file';
import { type Backing, type BackingOptions, startBacking } from './stack.js';

// perFile and useRedisServer live in testkit, where package tests reach them too.
export { perFile, useRedisServer } from '@runway-relay/testkit/per-file';

/** Real Redis, a real S3 server and the provider simulator for the file (see {@link startBacking}). */
export const useBacking = (options?: BackingOptions): Backing =>
  perFile(
    () => startBacking(options),
    (backing) => backing.dispose(),
  );
