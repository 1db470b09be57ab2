import { createHash } from 'node:crypto';
import { pipeline, Readable, Transform } from 'node:stream';
import { DownloadError } from './download-error.js';
import type { EndVerdict, MediaEndCheck } from './end-check.js';

/** What the body turned out to be once it was read to the end. */
export interface DownloadResult {
  /** Bytes streamed. */
  size: number;
  /** Hex sha256 of the bytes streamed. */
  sha256: string;
}

export interface MeterLimits {
  maxBytes: number;
  /** The Content-Length the source declared, or null; a different byte count is an error. */
  declaredLength: number | null;
  /** Bytes to read up front for sniffing (fewer only if the body is shorter). */
  prefixBytes: number;
  /** Turns errors of the source into the error the caller and the consumer should see. */
  mapError: (error: unknown) => unknown;
  /**
   * Picks the structural end check of the body from its prefix (null: none), before any byte
   * passes; every byte is then fed to it and a body it finds incomplete fails like a short one.
   * Default: no check.
   */
  endCheck?: (prefix: Buffer) => MediaEndCheck | null;
}

export interface MeteredBody {
  /** The first bytes of the body (at least `prefixBytes` unless it is shorter), for sniffing. */
  prefix: Buffer;
  /** Every byte of the body, the prefix included. */
  body: Readable;
  /** Resolves once the consumer has read the body to its end; rejects if it fails or is destroyed first. */
  result(): Promise<DownloadResult>;
}

/**
 * Reads the first bytes of `source` (a response body), then re-joins them with the rest into
 * one Node stream that hashes and counts bytes as they pass (memory stays at a few chunks
 * whatever the size), fails with `too_large` as soon as the count exceeds `maxBytes`, and
 * with a retryable `source_unavailable` when it ends at another length than declared or, with
 * an `endCheck`, short of where its own structure says the file ends.
 * Destroying the returned body, or any failure, destroys `source`, which closes the connection.
 */
export async function meterBody(source: Readable, limits: MeterLimits): Promise<MeteredBody> {
  // Errors are observed through the iterator; this only keeps a late one from going unhandled.
  source.on('error', () => {});
  const iterator: AsyncIterator<Buffer> = source[Symbol.asyncIterator]();
  const prefix = await readPrefix(source, iterator, limits);
  const endCheck = limits.endCheck?.(prefix) ?? null;

  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      if (prefix.length > 0) yield prefix;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } catch (error) {
      throw limits.mapError(error);
    }
  }

  let size = 0;
  let sha256 = '';
  const hash = createHash('sha256');
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limits.maxBytes) {
        callback(new DownloadError('too_large', `body exceeds the limit of ${limits.maxBytes} bytes`));
        return;
      }
      hash.update(chunk);
      endCheck?.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      if (limits.declaredLength !== null && size !== limits.declaredLength) {
        const message = `body ended after ${size} of ${limits.declaredLength} declared bytes`;
        callback(new DownloadError('source_unavailable', message, { retryable: true }));
        return;
      }
      // The length matched, or none was declared; a source that declared too few bytes passes
      // that check with a truncated file, which only the file's own structure can reveal.
      const verdict: EndVerdict = endCheck?.finish() ?? { ok: true };
      if (!verdict.ok) {
        callback(new DownloadError('source_unavailable', verdict.reason, { retryable: true }));
        return;
      }
      sha256 = hash.digest('hex');
      callback();
    },
  });

  // Errors reach the consumer through `meter`; the callback only keeps pipeline from throwing.
  pipeline(Readable.from(chunks(), { objectMode: false }), meter, () => {});

  const done = new Promise<DownloadResult>((resolve, reject) => {
    meter.once('end', () => resolve({ size, sha256 }));
    meter.once('error', reject);
    meter.once('close', () => {
      if (meter.readableEnded) return;
      // The generator may be parked on a stalled socket: destroy the source itself, not just the generator.
      if (!source.readableEnded) source.destroy();
      // Only takes effect when no 'error' came first, i.e. the consumer destroyed the body.
      reject(new DownloadError('source_unavailable', 'body closed before it was read to the end', { retryable: true }));
    });
  });
  // A caller that never asks for the result must not cause an unhandled rejection.
  done.catch(() => {});

  return { prefix, body: meter, result: () => done };
}

async function readPrefix(source: Readable, iterator: AsyncIterator<Buffer>, limits: MeterLimits): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  try {
    while (length < limits.prefixBytes) {
      const next = await iterator.next();
      if (next.done === true) break;
      parts.push(next.value);
      length += next.value.length;
    }
  } catch (error) {
    source.destroy();
    throw limits.mapError(error);
  }
  return Buffer.concat(parts, length);
}
