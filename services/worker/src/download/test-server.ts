import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { DownloadError } from './download-error.js';
import type { DownloadOptions } from './download-options.js';
import { createSafeAgent } from './safe-agent.js';

// Test support only (real HTTP servers, no mocks); not exported from the folder's index.

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** A real HTTP server on 127.0.0.1 and a free port, with routes registered per test. */
export interface TestServer {
  origin: string;
  port: number;
  /** Requests received, by path (query excluded). */
  hits: Map<string, number>;
  /** TCP connections accepted. */
  connections(): number;
  route(path: string, handler: RouteHandler): void;
  /** Routes `path` to a 200 with `body`, its Content-Length and `headers`. */
  serve(path: string, body: Buffer, headers: Record<string, string | number>): void;
  close(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const routes = new Map<string, RouteHandler>();
  const hits = new Map<string, number>();
  let connections = 0;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    void Promise.resolve(handler(req, res)).catch(() => res.destroy());
  });
  server.on('connection', () => {
    connections += 1;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    hits,
    connections: () => connections,
    route: (path, handler) => routes.set(path, handler),
    serve: (path, body, headers) =>
      routes.set(path, (_req, res) => res.writeHead(200, { 'content-length': body.length, ...headers }).end(body)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The first 32 bytes of an MP4 of `size` bytes (at least 32, under 4 GiB): an `ftyp` box (brand
 * isom), then the header of an `mdat` box spanning the rest, so the boxes tile the file exactly.
 */
export function mp4Head(size: number): Buffer {
  const head = Buffer.from('000000186674797069736f6d0000020069736f6d6d703431000000006d646174', 'hex');
  head.writeUInt32BE(size - 24, 24);
  return head;
}

/** A structurally complete MP4 of `size` bytes: {@link mp4Head}, then a pattern as `mdat` payload. */
export function mp4Bytes(size: number): Buffer {
  const bytes = patternBytes(size);
  mp4Head(size).copy(bytes);
  return bytes;
}

/**
 * A structurally complete PNG of `size` bytes (at least 57): signature, IHDR (1x1 RGBA), one
 * IDAT holding a pattern, IEND, with correct CRCs. Only the chunk layout is real: the pattern
 * is no zlib stream, which no download check decodes.
 */
export function pngBytes(size: number): Buffer {
  const ihdr = Buffer.from('00000001000000010806000000', 'hex');
  const idat = patternBytes(size - 8 - (12 + ihdr.length) - 12 - 12);
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  typeAndData.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(typeAndData) >>> 0, 8 + data.length);
  return chunk;
}

function patternBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes `total` bytes (the `head`, e.g. {@link mp4Head} of `total`, then filler) in 64 KiB chunks, honouring backpressure,
 * until done or the client goes away. Resolves with the bytes handed to the socket.
 */
export async function streamBytes(res: ServerResponse, total: number, head: Buffer): Promise<number> {
  let closed = false;
  res.once('close', () => {
    closed = true;
  });
  const filler = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  while (written < total && !closed) {
    const chunk = written === 0 ? head : filler.subarray(0, Math.min(filler.length, total - written));
    const ok = res.write(chunk);
    written += chunk.length;
    if (!ok && !closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!closed) res.end();
  return written;
}

/** Reads a stream to its end, discarding the bytes; returns how many there were. */
export async function drain(body: Readable): Promise<number> {
  let count = 0;
  await pipeline(
    body,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        count += chunk.length;
        callback();
      },
    }),
  );
  return count;
}

/** A promise with its resolver, for values produced inside a route handler. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves with the DownloadError `promise` rejects with; fails the test otherwise. */
export async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DownloadError);
  return error as DownloadError;
}

export const MiB = 1024 * 1024;

/** Options for tests against the local server: private targets allowed (see safe-agent.test.ts for refusal). */
export const LOCAL_OPTIONS: Omit<DownloadOptions, 'dispatcher'> = {
  maxBytes: 8 * MiB,
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 5_000,
  idleTimeoutMs: 5_000,
  maxRedirects: 3,
  allowedHosts: [],
  allowPrivate: true,
  allowHttp: true,
};

export interface DownloadFixture {
  /** A fresh server per test. */
  server: TestServer;
  /** LOCAL_OPTIONS with an agent shared by the file, as the worker shares one per process. */
  options: DownloadOptions;
}

/** Registers hooks giving each test a fresh server and the file a shared safe agent. */
export function useDownloadFixture(): DownloadFixture {
  let agent: Agent | undefined;
  const fixture = {} as DownloadFixture;
  beforeAll(() => {
    agent = createSafeAgent(LOCAL_OPTIONS);
  });
  afterAll(async () => {
    await agent?.close();
  });
  beforeEach(async () => {
    fixture.server = await startTestServer();
    fixture.options = { ...LOCAL_OPTIONS, ...(agent === undefined ? {} : { dispatcher: agent }) };
  });
  afterEach(async () => {
    await fixture.server.close();
  });
  return fixture;
}
