import { type RedisServerHarness, type RedisServerOptions, startRedisServer } from '@runway-relay/testkit';
import { afterAll, beforeAll } from 'vitest';
import { type Backing, type BackingOptions, startBacking } from './stack.js';

/**
 * A resource every test of a file shares: started by a `beforeAll`, disposed by an `afterAll`
 * (after every `afterEach` of the file). The object returned stands for it, so tests and hooks
 * read it as they would the variable a file would otherwise declare and assign; read outside
 * that window it throws, naming what was read.
 */
export function perFile<T extends object>(start: () => Promise<T>, dispose: (resource: T) => Promise<unknown>): T {
  let current: T | undefined;
  beforeAll(async () => {
    current = await start();
  });
  afterAll(async () => {
    const resource = current;
    current = undefined;
    if (resource) await dispose(resource);
  });
  return new Proxy({} as T, {
    get(_, key) {
      if (current === undefined) throw new Error(`${String(key)} read outside beforeAll…afterAll`);
      const value: unknown = Reflect.get(current, key, current);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}

/** Real Redis, a real S3 server and the provider simulator for the file (see {@link startBacking}). */
export const useBacking = (options?: BackingOptions): Backing =>
  perFile(
    () => startBacking(options),
    (backing) => backing.dispose(),
  );

/** A redis-server of the file's own (testkit's `startRedisServer`, never port 6379). */
export const useRedisServer = (options?: RedisServerOptions): RedisServerHarness =>
  perFile(
    () => startRedisServer(options),
    (server) => server.dispose(),
  );
