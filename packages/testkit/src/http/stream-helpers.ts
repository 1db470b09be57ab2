import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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
      // Until the socket drains or the client goes away; the aborted waiter removes its listener.
      const settled = new AbortController();
      await Promise.race([once(res, 'drain', settled), once(res, 'close', settled)]).finally(() => settled.abort());
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

/** Reads a stream to its end and returns the sha256 (hex) and size of what it carried. */
export async function streamDigest(body: AsyncIterable<Buffer | string>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    hash.update(buffer);
    size += buffer.length;
  }
  return { sha256: hash.digest('hex'), size };
}
