import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Harness } from './s3-harness.js';
import { type KoaMiddleware, type S3rverStore, s3rverFixes } from './s3rver-fixes.js';

/** The options of s3rver 3.7.1 this harness uses. */
interface S3rverConfig {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: Array<{ name: string }>;
}

/** The part of an s3rver instance (a Koa app) this harness uses; s3rver ships no types. */
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: S3rverStore;
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

type S3rverConstructor = new (options: S3rverConfig) => S3rverInstance;

// s3rver is CommonJS without type declarations: load it through require and type it here.
const require = createRequire(import.meta.url);

/** s3rver's fixed credentials and region. */
const CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1' } as const;

/** Options of {@link startS3rver}. */
export interface S3rverOptions {
  /** Port to listen on; default 0 (a free one). */
  port?: number;
  /**
   * Data directory to use and keep (`npm run dev` keeps objects across restarts); `stop()` still
   * removes it. Default: a fresh temp directory.
   */
  directory?: string;
}

/**
 * Starts s3rver on 127.0.0.1 with data in a fresh temp directory (or `options.directory`),
 * patched for the `minio` client (see {@link s3rverFixes}).
 */
export async function startS3rver(buckets: readonly string[], options: S3rverOptions = {}): Promise<S3Harness> {
  const S3rver = require('s3rver') as S3rverConstructor;
  const dataDir = options.directory ?? mkdtempSync(join(tmpdir(), 'relay-s3-'));
  let port = options.port ?? 0;
  let running: S3rverInstance | undefined;
  let disposed = false;

  const start = async (): Promise<void> => {
    if (disposed) throw new Error('the S3 server was stopped for good (its data is gone): start a new one');
    if (running) return;
    const server = new S3rver({
      address: '127.0.0.1',
      port,
      directory: dataDir,
      silent: true,
      configureBuckets: buckets.map((name) => ({ name })),
    });
    // Koa composes `middleware` when the server starts listening: insert the fixes just before
    // s3rver's router (the last entry), after its XML, mount and vhost middleware.
    server.middleware.splice(server.middleware.length - 1, 0, s3rverFixes());
    const address = await server.run();
    port = address.port;
    running = server;
  };

  const halt = async (): Promise<void> => {
    const server = running;
    running = undefined;
    if (!server) return;
    const closed = server.close();
    // Keep-alive sockets of clients would hold `close()` open forever.
    server.httpServer?.closeAllConnections();
    await closed;
  };

  try {
    await start();
  } catch (error) {
    // A directory handed in holds someone's data: only a temp one of ours is removed.
    if (!options.directory) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    kind: 's3rver',
    endpoint: `http://127.0.0.1:${port}`,
    ...CREDENTIALS,
    dataDir,
    stop: async () => {
      disposed = true;
      await halt();
      rmSync(dataDir, { recursive: true, force: true });
    },
    suspend: halt,
    resume: start,
    restart: async () => {
      await halt();
      await start();
    },
  };
}
