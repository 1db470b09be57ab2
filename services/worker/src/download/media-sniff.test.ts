import { describe, expect, it } from 'vitest';
import { expectKind, isAcceptableContentType, sniffMedia } from './media-sniff.js';

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');
const ascii = (text: string) => Buffer.from(text, 'latin1');

describe('sniffMedia', () => {
  it.each([
    ['mp4 (isom)', hex('00000018 66747970 69736f6d 00000200'), 'video/mp4', 'mp4'],
    ['mp4 (mp42)', hex('00000020 66747970 6d703432 00000000'), 'video/mp4', 'mp4'],
    ['mov', Buffer.concat([hex('00000014'), ascii('ftypqt  '), hex('00000000')]), 'video/quicktime', 'mov'],
    ['webm', hex('1a45dfa3 9f428681 01'), 'video/webm', 'webm'],
    ['png', hex('89504e47 0d0a1a0a 0000000d 49484452'), 'image/png', 'png'],
    ['jpeg', hex('ffd8ffe0 00104a46 4946'), 'image/jpeg', 'jpg'],
    ['webp', ascii('RIFF\x24\x00\x00\x00WEBPVP8 '), 'image/webp', 'webp'],
    ['gif', ascii('GIF89a\x01\x00\x01\x00'), 'image/gif', 'gif'],
    ['avif', Buffer.concat([hex('0000001c'), ascii('ftypavif')]), 'image/avif', 'avif'],
  ])('recognises %s', (_name, bytes, mime, ext) => {
    expect(sniffMedia(bytes)).toEqual({ mime, ext });
  });

  it.each([
    ['html', ascii('<!DOCTYPE html><html>')],
    ['json', ascii('{"error":"expired"}')],
    ['empty', Buffer.alloc(0)],
    ['too short for ftyp', hex('00000018 6674')],
  ])('returns null for %s', (_name, bytes) => {
    expect(sniffMedia(bytes)).toBeNull();
  });
});

describe('expectKind', () => {
  it('wants a video for video and an image for a cover', () => {
    const mp4 = { mime: 'video/mp4', ext: 'mp4' };
    const png = { mime: 'image/png', ext: 'png' };
    expect(expectKind('video', mp4)).toBe(true);
    expect(expectKind('video', png)).toBe(false);
    expect(expectKind('cover', png)).toBe(true);
    expect(expectKind('cover', mp4)).toBe(false);
    expect(expectKind('cover', { mime: 'audio/mp4', ext: 'm4a' })).toBe(false);
    expect(expectKind('video', null)).toBe(false);
  });
});

describe('isAcceptableContentType', () => {
  it('accepts video/* for a video and image/* for a cover, parameters and case ignored', () => {
    expect(isAcceptableContentType('video', 'Video/MP4; codecs="avc1"', ['/x'])).toBe(true);
    expect(isAcceptableContentType('cover', 'image/webp', ['/x'])).toBe(true);
    expect(isAcceptableContentType('video', 'image/png', ['/x.mp4'])).toBe(false);
    expect(isAcceptableContentType('cover', 'video/mp4', ['/x.png'])).toBe(false);
  });

  it('accepts octet-stream only with an extension of the kind', () => {
    expect(isAcceptableContentType('video', 'application/octet-stream', ['/a/b.MP4'])).toBe(true);
    expect(isAcceptableContentType('video', 'binary/octet-stream', ['/b.webm'])).toBe(true);
    expect(isAcceptableContentType('video', 'application/octet-stream', ['/b.png'])).toBe(false);
    expect(isAcceptableContentType('video', 'application/octet-stream', ['/download'])).toBe(false);
    expect(isAcceptableContentType('cover', 'application/octet-stream', ['/x', '/cover.jpeg'])).toBe(true);
    expect(isAcceptableContentType('video', undefined, ['/v.mov'])).toBe(true);
  });

  it('refuses anything else', () => {
    expect(isAcceptableContentType('video', 'text/html; charset=utf-8', ['/v.mp4'])).toBe(false);
    expect(isAcceptableContentType('video', 'application/json', ['/v.mp4'])).toBe(false);
  });
});
