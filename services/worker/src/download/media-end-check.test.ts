import { mp4Bytes, pngBytes } from '@runway-relay/testkit';
import { describe, expect, it } from 'vitest';
import type { EndVerdict, MediaEndCheck } from './end-check.js';
import { createMediaEndCheck } from './media-end-check.js';
import { sniffMedia } from './media-sniff.js';

/** Feeds `bytes` in chunks of `size` to `check` (default: chosen by sniffing them); returns its verdict. */
function verdict(bytes: Buffer, size = bytes.length, check = checkFor(bytes)): EndVerdict {
  for (let i = 0; i < bytes.length; i += size) check.update(bytes.subarray(i, i + size));
  return check.finish();
}

function checkFor(bytes: Buffer): MediaEndCheck {
  const check = createMediaEndCheck(sniffMedia(bytes));
  if (check === null) throw new Error('expected an end check for these bytes');
  return check;
}

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');

function box(type: string, payloadLength: number, size = 8 + payloadLength): Buffer {
  const bytes = Buffer.alloc(8 + payloadLength, 0x5a);
  bytes.writeUInt32BE(size, 0);
  bytes.write(type, 4, 'latin1');
  return bytes;
}

function largeBox(type: string, payloadLength: number, size = 16 + payloadLength): Buffer {
  const bytes = Buffer.alloc(16 + payloadLength, 0x5a);
  bytes.writeUInt32BE(1, 0);
  bytes.write(type, 4, 'latin1');
  bytes.writeBigUInt64BE(BigInt(size), 8);
  return bytes;
}

const ftyp = Buffer.concat([hex('00000018'), Buffer.from('ftypisom'), hex('00000200'), Buffer.from('isommp41')]);

describe('MP4 end check (ISO BMFF boxes)', () => {
  const mp4 = Buffer.concat([ftyp, box('free', 0), largeBox('mdat', 40), box('moov', 12)]);

  it('accepts boxes that tile the file, whatever the chunking', () => {
    for (const size of [1, 3, 7, 8, 16, 1000]) expect(verdict(mp4, size), `chunks of ${size}`).toEqual({ ok: true });
  });

  it('refuses a body cut anywhere but between two boxes, headers split across chunks included', () => {
    // A cut exactly between two boxes leaves a valid tiling: that much the structure cannot tell.
    const boundaries = new Set([24, 32, 88]);
    for (let length = 1; length < mp4.length; length++) {
      for (const size of [1, 5, mp4.length]) {
        const cut = verdict(mp4.subarray(0, length), size, checkFor(mp4));
        expect(cut.ok, `${length} bytes in chunks of ${size}`).toBe(boundaries.has(length));
      }
    }
  });

  it('names the box the body ends inside', () => {
    const cut = mp4Bytes(65_536 + 24).subarray(0, 49_152);
    expect(verdict(cut, 4096)).toEqual({
      ok: false,
      reason: "body ends inside an MP4 box (box 'mdat' at 24 declares 65536 bytes, 49128 arrived)",
    });
    expect(verdict(mp4.subarray(0, 30))).toEqual({
      ok: false,
      reason: 'body ends inside an MP4 box header (box at 24, 6 of 8 header bytes)',
    });
  });

  it('refuses bytes after the last box', () => {
    expect(verdict(Buffer.concat([mp4, hex('00')]))).toEqual({
      ok: false,
      reason: 'body ends inside an MP4 box header (box at 108, 1 of 8 header bytes)',
    });
  });

  it('accepts a size-0 last box, which runs to the end of the file', () => {
    const open = Buffer.concat([ftyp, box('mdat', 100, 0)]);
    expect(verdict(open, 9)).toEqual({ ok: true });
  });

  it('refuses a size below the header (corrupt), and a largesize below 16', () => {
    expect(verdict(Buffer.concat([ftyp, box('mdat', 4, 4)]))).toEqual({
      ok: false,
      reason: "corrupt MP4: box 'mdat' at 24 declares 4 bytes, less than its 8-byte header",
    });
    expect(verdict(Buffer.concat([ftyp, largeBox('mdat', 0, 12)])).ok).toBe(false);
  });

  it('labels QuickTime files MOV', () => {
    const mov = Buffer.concat([hex('00000014'), Buffer.from('ftypqt  '), hex('00000000'), box('mdat', 10, 100)]);
    expect(verdict(mov)).toMatchObject({ ok: false, reason: expect.stringContaining('inside an MOV box') });
  });
});

describe('PNG end check', () => {
  const png = pngBytes(200);

  it('accepts a body ending with IEND, also when IEND spans chunks', () => {
    for (const size of [1, 5, 13, 200]) expect(verdict(png, size)).toEqual({ ok: true });
  });

  it('refuses a body cut before or inside IEND, or with bytes after it', () => {
    for (const length of [100, png.length - 12, png.length - 1]) {
      expect(verdict(png.subarray(0, length))).toEqual({
        ok: false,
        reason: 'body does not end with the PNG IEND chunk',
      });
    }
    expect(verdict(Buffer.concat([png, hex('00')])).ok).toBe(false);
  });
});

describe('JPEG end check', () => {
  const jpeg = (tail: string) => Buffer.concat([hex('ffd8ffe0 0010'), Buffer.alloc(50, 0x41), hex(tail)]);

  it('accepts a body ending with EOI, trailing zero padding allowed', () => {
    expect(verdict(jpeg('ffd9'))).toEqual({ ok: true });
    expect(verdict(jpeg('ffd9 000000'), 1)).toEqual({ ok: true });
    expect(verdict(Buffer.concat([jpeg('ffd9'), Buffer.alloc(5000)]), 1024)).toEqual({ ok: true });
  });

  it('pairs EOI bytes split across chunks, a chunk of zeros in between', () => {
    const check = checkFor(jpeg('ff'));
    check.update(jpeg('ff'));
    check.update(hex('d9'));
    check.update(Buffer.alloc(10));
    expect(check.finish()).toEqual({ ok: true });
  });

  it('refuses a cut body, an EOI broken by a zero, and other bytes after EOI', () => {
    for (const tail of ['41', 'ff', 'ff00', 'ff00d9', 'ffd941', 'ffd90041']) {
      expect(verdict(jpeg(tail), 7), tail).toEqual({
        ok: false,
        reason: 'body does not end with the JPEG EOI marker (FF D9)',
      });
    }
  });
});

describe('GIF end check', () => {
  const gif = Buffer.concat([Buffer.from('GIF89a'), hex('0100 0100 00 00 00'), Buffer.alloc(20, 7)]);

  it('accepts a body ending with the trailer 3B and refuses one that does not', () => {
    expect(verdict(Buffer.concat([gif, hex('3b')]), 4)).toEqual({ ok: true });
    expect(verdict(gif)).toEqual({ ok: false, reason: 'body does not end with the GIF trailer (3B)' });
  });
});

describe('WebP end check', () => {
  function webp(length: number, declared = length - 8): Buffer {
    const bytes = Buffer.alloc(length, 1);
    bytes.write('RIFF', 0, 'latin1');
    bytes.writeUInt32LE(declared, 4);
    bytes.write('WEBPVP8 ', 8, 'latin1');
    return bytes;
  }

  it('accepts a body as long as its RIFF size says, the header split across chunks', () => {
    expect(verdict(webp(100), 3)).toEqual({ ok: true });
  });

  it('refuses a body of another length than its RIFF size says', () => {
    expect(verdict(webp(100, 192))).toEqual({
      ok: false,
      reason: 'body is 100 bytes but its RIFF header declares 200',
    });
    expect(verdict(webp(100, 80)).ok).toBe(false);
  });
});

describe('createMediaEndCheck', () => {
  it('has no check for WebM (unknown-size segments are legal) nor for unknown bytes', () => {
    expect(createMediaEndCheck({ mime: 'video/webm', ext: 'webm' })).toBeNull();
    expect(createMediaEndCheck(null)).toBeNull();
    expect(createMediaEndCheck({ mime: 'application/x-unknown', ext: 'bin' })).toBeNull();
  });

  it('checks HEIF/AVIF stills as ISO BMFF', () => {
    const avif = Buffer.concat([hex('00000010'), Buffer.from('ftypavif'), hex('00000000'), box('mdat', 4)]);
    expect(verdict(avif, 2)).toEqual({ ok: true });
    expect(verdict(avif.subarray(0, avif.length - 1))).toMatchObject({ ok: false });
  });
});
