import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamDigest } from '@runway-relay/testkit';
import { Agent, errors, interceptors, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedSha256 } from './media.js';
import { tinyPng } from './media-layout.js';
import { HUGE_DECLARED_BYTES } from './media-responder.js';
import { type MediaServer, startMediaServer } from './media-server.js';

let media: MediaServer;
let counter = 0;
/** A fresh media id per test, so counters and registrations never collide. */
const nextId = () => `m${++counter}`;

beforeAll(async () => {
  media = await startMediaServer({ apiKey: 'sim-key', hugeCapBytes: 4 * 1024 * 1024 });
});
afterAll(async () => {
  await media?.close();
});

/** Reads a whole raw HTTP exchange (headers and body) until the server closes the socket. */
function rawGet(url: string): Promise<{ head: string; body: Buffer }> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
    });
    const parts: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(parts);
      const end = all.indexOf('\r\n\r\n');
      resolve({ head: all.toString('latin1', 0, end), body: all.subarray(end + 4) });
    });
  });
}

describe('media server: good media', () => {
  it('listens on 127.0.0.1 and builds URLs with the given parameters', () => {
    expect(media.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(media.url('abc', 'video', { size: 10, behavior: 'flaky:2' })).toBe(
      `${media.origin}/media/abc/video.mp4?size=10&behavior=flaky%3A2`,
    );
  });

  it('serves a video of the requested size with deterministic bytes and counts it', async () => {
    const id = nextId();
    const url = media.url(id, 'video', { size: 1_000_000 });
    const response = await request(url);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('video/mp4');
    expect(response.headers['content-length']).toBe('1000000');
    expect(await streamDigest(response.body)).toEqual({
      sha256: await generatedSha256('video', 1_000_000, id),
      size: 1_000_000,
    });
    expect(media.stats(url)).toEqual({ requests: 1, bytesWritten: 1_000_000, completed: 1 });
  });

  it('serves a valid PNG cover by default and answers HEAD without a body', async () => {
    const id = nextId();
    const response = await request(media.url(id, 'cover'));
    expect(response.headers['content-type']).toBe('image/png');
    expect(Buffer.from(await response.body.arrayBuffer()).equals(tinyPng())).toBe(true);
    const head = await request(media.url(id, 'cover'), { method: 'HEAD' });
    expect(head.headers['content-length']).toBe(String(tinyPng().length));
    expect(await head.body.text()).toBe('');
  });

  it('declares another content type when asked', async () => {
    const response = await request(media.url(nextId(), 'video', { size: 100, type: 'application/octet-stream' }));
    expect(response.headers['content-type']).toBe('application/octet-stream');
    await response.body.dump();
  });

  it('answers 404 for unknown paths and 400 for bad parameters', async () => {
    const unknown = await request(`${media.origin}/nothing`);
    expect(unknown.statusCode).toBe(404);
    await unknown.body.dump();
    const bad = await request(`${media.origin}/media/x/video.mp4?behavior=dance`);
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();
  });
});

describe('media server: slow and stuck sources', () => {
  it('slow throttles to the given bytes per second', async () => {
    const started = Date.now();
    const response = await request(media.url(nextId(), 'video', { size: 40_000, behavior: 'slow:100000' }));
    expect((await streamDigest(response.body)).size).toBe(40_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('stall sends headers and part of the body, then nothing', async () => {
    const url = media.url(nextId(), 'video', { size: 100_000, behavior: 'stall:30000' });
    const response = await request(url, { bodyTimeout: 300 });
    expect(response.headers['content-length']).toBe('100000');
    let received = 0;
    await expect(
      (async () => {
        for await (const chunk of response.body) received += (chunk as Buffer).length;
      })(),
    ).rejects.toBeInstanceOf(errors.BodyTimeoutError);
    expect(received).toBe(30_000);
    expect(media.bytesWritten(url)).toBe(30_000);
  });

  it('delay holds back the headers', async () => {
    await expect(
      request(media.url(nextId(), 'video', { size: 10, behavior: 'delay:5000' }), { headersTimeout: 200 }),
    ).rejects.toBeInstanceOf(errors.HeadersTimeoutError);
  });
});

describe('media server: error statuses', () => {
  it.each([
    [500, undefined],
    [503, '1'],
    [429, '7'],
    [404, undefined],
  ])('status:%i answers that status (Retry-After %s)', async (code, retryAfter) => {
    const behavior = retryAfter ? `status:${code}:${retryAfter}` : `status:${code}`;
    const response = await request(media.url(nextId(), 'video', { behavior }));
    expect(response.statusCode).toBe(code);
    expect(response.headers['retry-after']).toBe(retryAfter);
    await response.body.dump();
  });

  it('flaky:2 fails the first two requests of a path with 503, then serves', async () => {
    const url = media.url(nextId(), 'video', { size: 100, behavior: 'flaky:2' });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await request(url);
      statuses.push(response.statusCode);
      await response.body.dump();
    }
    expect(statuses).toEqual([503, 503, 200]);
    expect(media.requests(url)).toBe(3);
  });

  it('setBehavior overrides the URL and can be cleared', async () => {
    const id = nextId();
    const url = media.url(id, 'video', { size: 10 });
    media.setBehavior(id, 'status:500');
    expect((await request(url)).statusCode).toBe(500);
    media.setBehavior(id, { kind: 'status', code: 502, retryAfter: 0 }, 'video');
    expect((await request(url)).statusCode).toBe(502);
    media.clearBehavior(id, 'video');
    media.clearBehavior(id);
    expect((await request(url)).statusCode).toBe(200);
  });
});

describe('media server: expiry', () => {
  it('expire-after:<ms> turns the link into 403 once that time has passed', async () => {
    const url = media.url(nextId(), 'video', { size: 10, behavior: 'expire-after:150' });
    const fresh = await request(url);
    expect(fresh.statusCode).toBe(200);
    await fresh.body.dump();
    await sleep(200);
    const stale = await request(url);
    expect(stale.statusCode).toBe(403);
    expect(await stale.body.text()).toContain('AccessDenied');
  });

  it('expire(id, status) kills every file of the id', async () => {
    const id = nextId();
    media.expire(id, 410);
    expect(media.isExpired(id)).toBe(true);
    for (const kind of ['video', 'cover'] as const) {
      const response = await request(media.url(id, kind));
      expect(response.statusCode).toBe(410);
      await response.body.dump();
    }
  });
});

describe('media server: wrong content', () => {
  it('html answers 200 with an HTML page', async () => {
    const response = await request(media.url(nextId(), 'video', { behavior: 'html' }));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(await response.body.text()).toContain('<html>');
  });

  it('html-as-mp4 sends HTML bytes labelled video/mp4', async () => {
    const response = await request(media.url(nextId(), 'video', { behavior: 'html-as-mp4' }));
    expect(response.headers['content-type']).toBe('video/mp4');
    expect(await response.body.text()).toMatch(/^<!DOCTYPE html>/);
  });
});

describe('media server: redirects', () => {
  it('redirect:2 sends two relative redirects, then the file', async () => {
    let url = media.url(nextId(), 'video', { size: 50, behavior: 'redirect:2' });
    const statuses: number[] = [];
    for (;;) {
      const response = await request(url);
      statuses.push(response.statusCode);
      await response.body.dump();
      const location = response.headers.location;
      if (typeof location !== 'string') break;
      expect(location).not.toMatch(/^https?:/);
      url = new URL(location, url).toString();
    }
    expect(statuses).toEqual([302, 302, 200]);
  });

  it('a redirect-following client reaches the file', async () => {
    const agent = new Agent().compose(interceptors.redirect({ maxRedirections: 3 }));
    const response = await request(media.url(nextId(), 'video', { size: 50, behavior: 'redirect:3' }), {
      dispatcher: agent,
    });
    expect(response.statusCode).toBe(200);
    expect((await streamDigest(response.body)).size).toBe(50);
    await agent.close();
  });

  it('redirect-loop never ends', async () => {
    const agent = new Agent().compose(interceptors.redirect({ maxRedirections: 5 }));
    await expect(
      request(media.url(nextId(), 'video', { behavior: 'redirect-loop' }), { dispatcher: agent }),
    ).rejects.toThrow(/redirect/i);
    await agent.close();
  });

  it('redirect-to:<url> points anywhere, e.g. the cloud metadata address', async () => {
    const response = await request(media.url(nextId(), 'video', { behavior: 'redirect-to:http://169.254.169.254/' }));
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('http://169.254.169.254/');
    await response.body.dump();
  });
});

describe('media server: broken transfers', () => {
  it('truncate declares the full length, sends half and resets the connection', async () => {
    const url = media.url(nextId(), 'video', { size: 200_000, behavior: 'truncate' });
    const response = await request(url);
    expect(response.headers['content-length']).toBe('200000');
    await expect(response.body.arrayBuffer()).rejects.toThrow();
    expect(media.stats(url)).toMatchObject({ bytesWritten: 100_000, completed: 0 });
  });

  it('lie-length:smaller declares half of what it sends', async () => {
    const { head, body } = await rawGet(media.url(nextId(), 'video', { size: 10_000, behavior: 'lie-length' }));
    expect(head).toMatch(/content-length: 5000/i);
    expect(body.length).toBe(10_000);
  });

  it('lie-length:larger declares twice what it sends, then closes', async () => {
    const url = media.url(nextId(), 'video', { size: 10_000, behavior: 'lie-length:larger' });
    const { head, body } = await rawGet(url);
    expect(head).toMatch(/content-length: 20000/i);
    expect(body.length).toBe(10_000);
    const response = await request(url);
    await expect(response.body.arrayBuffer()).rejects.toThrow();
  });

  it('huge-declared announces 10 GiB and stops once the client gives up', async () => {
    const own = await startMediaServer(); // default cap: 64 MiB
    try {
      const url = own.url('h', 'video', { behavior: 'huge-declared' });
      const response = await request(url);
      expect(response.headers['content-length']).toBe(String(HUGE_DECLARED_BYTES));
      for await (const _ of response.body) break; // one chunk, then give up
      let previous = -1;
      // Wait until the server stops writing (two equal readings 50 ms apart).
      for (let i = 0; i < 40 && own.bytesWritten(url) !== previous; i += 1) {
        previous = own.bytesWritten(url);
        await sleep(50);
      }
      expect(own.bytesWritten(url)).toBe(previous);
      expect(previous).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await own.close();
    }
  });

  it('endless streams chunked bytes for as long as the client reads', async () => {
    const url = media.url(nextId(), 'video', { behavior: 'endless' });
    const response = await request(url);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    let received = 0;
    for await (const chunk of response.body) {
      received += (chunk as Buffer).length;
      if (received > 8 * 1024 * 1024) break;
    }
    expect(received).toBeGreaterThan(8 * 1024 * 1024);
  });

  it('close() returns while a stalled download is still open', async () => {
    const own = await startMediaServer();
    const response = await request(own.url('s', 'video', { size: 100_000, behavior: 'stall:0' }));
    expect(response.statusCode).toBe(200);
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(response.body.arrayBuffer()).rejects.toThrow();
  });
});
