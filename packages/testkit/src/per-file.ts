import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type RedisServerHarness, type RedisServerOptions, startRedisServer } from './redis/redis-server.js';

// Vitest hooks: a subpath of its own (`@runway-relay/testkit/per-file`), never re-exported by the
// index, so the benchmarks and scripts that use testkit outside Vitest do not load it.

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

/** A redis-server of the file's own (`startRedisServer`, never port 6379). */
export const useRedisServer = (options?: RedisServerOptions): RedisServerHarness =>
  perFile(
    () => startRedisServer(options),
    (server) => server.dispose(),
  );

/**
 * An ioredis client of the file's, connected to a redis-server of the file's own: for unit tests
 * that call Redis directly and hand the client to the module under test.
 */
export function useRedisClient(options?: RedisServerOptions): Redis {
  const server = useRedisServer(options);
  return perFile(
    async () => new Redis(server.url),
    (client) => client.quit(),
  );
}
