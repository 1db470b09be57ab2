import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DownloadError, toDownloadError } from './download-error.js';
import { type MeterLimits, meterBody } from './metered-body.js';
import { drain, sha256 } from './test-server.js';

const limits = (override: Partial<MeterLimits> = {}): MeterLimits => ({
  maxBytes: 1_000_000,
  declaredLength: null,
  prefixBytes: 16,
  mapError: toDownloadError,
  ...override,
});

function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

describe('meterBody', () => {
  const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));

  it('reads a prefix of at least prefixBytes and still streams every byte', async () => {
    const metered = await meterBody(chunked(bytes, 5), limits({ declaredLength: bytes.length }));
    expect(metered.prefix.length).toBeGreaterThanOrEqual(16);
    expect(metered.prefix.equals(bytes.subarray(0, metered.prefix.length))).toBe(true);
    expect(await drain(metered.body)).toBe(bytes.length);
    expect(await metered.result()).toEqual({ size: bytes.length, sha256: sha256(bytes) });
  });

  it('handles a body shorter than the prefix', async () => {
    const metered = await meterBody(chunked(bytes.subarray(0, 4), 2), limits());
    expect(metered.prefix.length).toBe(4);
    expect(await drain(metered.body)).toBe(4);
  });

  it('fails with a retryable source_unavailable when the body ends short of its declared length', async () => {
    const metered = await meterBody(chunked(bytes, 1_000), limits({ declaredLength: bytes.length + 1 }));
    await expect(drain(metered.body)).rejects.toMatchObject({ category: 'source_unavailable', retryable: true });
    await expect(metered.result()).rejects.toBeInstanceOf(DownloadError);
  });

  it('fails with too_large past maxBytes and stops reading the source', async () => {
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled += 1;
        this.push(Buffer.alloc(1_000));
      },
    });
    const metered = await meterBody(endless, limits({ maxBytes: 50_000 }));
    await expect(drain(metered.body)).rejects.toMatchObject({ category: 'too_large' });
    expect(endless.destroyed).toBe(true);
    expect(pulled).toBeLessThan(200);
  });

  it('maps source errors, also those after the prefix', async () => {
    async function* failing() {
      yield Buffer.alloc(32);
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    const metered = await meterBody(Readable.from(failing()), limits());
    await expect(drain(metered.body)).rejects.toMatchObject({ category: 'source_unavailable', retryable: true });
  });

  it('destroys the source when the consumer destroys the body', async () => {
    const stalled = new Readable({ read() {} });
    stalled.push(Buffer.alloc(64));
    const metered = await meterBody(stalled, limits());
    metered.body.destroy();
    await expect(metered.result()).rejects.toMatchObject({ category: 'source_unavailable' });
    expect(stalled.destroyed).toBe(true);
  });
});
