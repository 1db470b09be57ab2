import { Readable } from 'node:stream';
import { drain, mp4Bytes, sha256 } from '@runway-relay/testkit';
import { describe, expect, it } from 'vitest';
import { DownloadError, toDownloadError } from './download-error.js';
import { createMediaEndCheck } from './media-end-check.js';
import { sniffMedia } from './media-sniff.js';
import { type MeterLimits, meterBody } from './metered-body.js';

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

  describe('with an end check', () => {
    const endCheck = (prefix: Buffer) => createMediaEndCheck(sniffMedia(prefix));
    const video = mp4Bytes(100_000);

    it('passes a complete file, chosen by its prefix and fed every byte', async () => {
      const prefixes: Buffer[] = [];
      const metered = await meterBody(
        chunked(video, 999),
        limits({
          declaredLength: video.length,
          endCheck: (prefix) => {
            prefixes.push(prefix);
            return endCheck(prefix);
          },
        }),
      );
      expect(await drain(metered.body)).toBe(video.length);
      expect(await metered.result()).toEqual({ size: video.length, sha256: sha256(video) });
      expect(prefixes).toEqual([metered.prefix]);
    });

    it('fails a body whose length matches what was declared but which ends inside the file', async () => {
      // What a source declaring too small a Content-Length yields: exactly the declared bytes.
      const cut = video.subarray(0, 50_000);
      const metered = await meterBody(chunked(cut, 4_096), limits({ declaredLength: cut.length, endCheck }));
      const expected = {
        category: 'source_unavailable',
        retryable: true,
        message: "body ends inside an MP4 box (box 'mdat' at 24 declares 99976 bytes, 49976 arrived)",
      };
      await expect(drain(metered.body)).rejects.toMatchObject(expected);
      await expect(metered.result()).rejects.toMatchObject(expected);
    });
  });
});
