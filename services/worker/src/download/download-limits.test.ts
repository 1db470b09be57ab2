import { deferred, drain, MiB, mp4Bytes, mp4Head, streamBytes } from '@runway-relay/testkit';
import { describe, expect, it } from 'vitest';
import { failure, useDownloadFixture } from '../../test/download-fixture.js';
import { openDownload } from './download.js';
import { DownloadError } from './download-error.js';

const ctx = useDownloadFixture();

describe('openDownload: size limits', () => {
  const total = 64 * MiB;

  it('fails with too_large on an oversized Content-Length before reading the body', async () => {
    const written = deferred<number>();
    ctx.server.route('/big.mp4', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': total });
      written.resolve(await streamBytes(res, total, mp4Head(total)));
    });

    const error = await failure(
      openDownload(`${ctx.server.origin}/big.mp4`, 'video', { ...ctx.options, maxBytes: MiB }),
    );
    expect(error).toMatchObject({ category: 'too_large', retryable: false });
    // Socket buffers absorb a few MiB at most; the rest was never sent.
    expect(await written.promise).toBeLessThan(total / 4);
  });

  it('stops a chunked body as soon as it exceeds maxBytes', async () => {
    const written = deferred<number>();
    ctx.server.route('/big.mp4', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      written.resolve(await streamBytes(res, total, mp4Head(total)));
    });

    const opened = await openDownload(`${ctx.server.origin}/big.mp4`, 'video', { ...ctx.options, maxBytes: MiB });
    const error = await failure(drain(opened.body));
    expect(error).toMatchObject({ category: 'too_large', retryable: false });
    await expect(opened.result()).rejects.toMatchObject({ category: 'too_large' });
    expect(await written.promise).toBeLessThan(total / 4);
  });

  it('accepts a body of exactly maxBytes', async () => {
    ctx.server.serve('/v.mp4', mp4Bytes(MiB), { 'content-type': 'video/mp4' });
    const opened = await openDownload(`${ctx.server.origin}/v.mp4`, 'video', { ...ctx.options, maxBytes: MiB });
    expect(await drain(opened.body)).toBe(MiB);
  });

  it('fails a body cut short of its Content-Length with a retryable source_unavailable', async () => {
    ctx.server.route('/v.mp4', (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 1000 });
      res.write(mp4Bytes(500), () => res.socket?.destroy());
    });

    const opened = await openDownload(`${ctx.server.origin}/v.mp4`, 'video', ctx.options);
    const error = await failure(drain(opened.body));
    expect(error).toMatchObject({ category: 'source_unavailable', retryable: true });
    await expect(opened.result()).rejects.toBeInstanceOf(DownloadError);
  });

  it('keeps memory flat while streaming a large body', async () => {
    const size = 256 * MiB;
    ctx.server.route('/huge.mp4', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': size });
      await streamBytes(res, size, mp4Head(size));
    });
    const before = process.memoryUsage();
    const opened = await openDownload(`${ctx.server.origin}/huge.mp4`, 'video', { ...ctx.options, maxBytes: size });
    let peak = 0;
    let chunks = 0;
    opened.body.on('data', () => {
      chunks += 1;
      if (chunks % 64 === 0) peak = Math.max(peak, process.memoryUsage().rss - before.rss);
    });
    const { size: streamed } = await opened.result();
    expect(streamed).toBe(size);
    expect(peak).toBeLessThan(size / 2);
  });
});

describe('openDownload: timeouts and abort', () => {
  it('fails with timeout when the headers do not come', async () => {
    ctx.server.route('/slow', () => {
      // Never answers.
    });
    const error = await failure(
      openDownload(`${ctx.server.origin}/slow`, 'video', { ...ctx.options, headersTimeoutMs: 200 }),
    );
    expect(error).toMatchObject({ category: 'timeout', retryable: true });
  });

  it('fails with timeout when the body stalls mid-way', async () => {
    ctx.server.route('/stall.mp4', (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 100_000 });
      res.write(mp4Bytes(4_096));
      // ...and then silence.
    });
    const opened = await openDownload(`${ctx.server.origin}/stall.mp4`, 'video', {
      ...ctx.options,
      idleTimeoutMs: 300,
    });
    const error = await failure(drain(opened.body));
    expect(error).toMatchObject({ category: 'timeout', retryable: true });
  });

  it('rejects with the signal reason when aborted', async () => {
    ctx.server.route('/slow', () => {});
    const controller = new AbortController();
    const pending = openDownload(`${ctx.server.origin}/slow`, 'video', ctx.options, controller.signal);
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
  });

  it('fails the body with the signal reason when aborted while streaming', async () => {
    ctx.server.route('/stall.mp4', (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      res.write(mp4Bytes(4_096));
    });
    const controller = new AbortController();
    const opened = await openDownload(`${ctx.server.origin}/stall.mp4`, 'video', ctx.options, controller.signal);
    const reason = new Error('shutting down');
    const draining = drain(opened.body);
    controller.abort(reason);
    await expect(draining).rejects.toBe(reason);
    await expect(opened.result()).rejects.toBe(reason);
  });
});
