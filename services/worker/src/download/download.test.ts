import { drain, mp4Bytes, pngBytes, sha256 } from '@runway-relay/testkit';
import { describe, expect, it } from 'vitest';
import { failure, useDownloadFixture } from '../../test/download-fixture.js';
import { openDownload } from './download.js';

const ctx = useDownloadFixture();

describe('openDownload: success', () => {
  it('streams a video with the sniffed type, size and sha256', async () => {
    const video = mp4Bytes(300_000);
    ctx.server.serve('/video.mp4', video, { 'content-type': 'video/mp4' });

    const opened = await openDownload(`${ctx.server.origin}/video.mp4?X-Amz-Signature=secret`, 'video', ctx.options);
    expect(opened).toMatchObject({ contentType: 'video/mp4', ext: 'mp4', declaredLength: video.length, redirects: 0 });
    expect(opened.finalUrl).toBe(`${ctx.server.origin}/video.mp4`);
    expect(opened.finalHost).toBe('127.0.0.1');

    expect(await drain(opened.body)).toBe(video.length);
    expect(await opened.result()).toEqual({ size: video.length, sha256: sha256(video) });
  });

  it('streams a PNG cover served as octet-stream with a .png path, chunked', async () => {
    const png = pngBytes(5_000);
    ctx.server.route('/cover.png', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // Tiny first chunks: sniffing must wait for enough bytes.
      res.write(png.subarray(0, 3));
      setTimeout(() => res.end(png.subarray(3)), 20);
    });

    const opened = await openDownload(`${ctx.server.origin}/cover.png`, 'cover', ctx.options);
    expect(opened).toMatchObject({ contentType: 'image/png', ext: 'png', declaredLength: null });
    await drain(opened.body);
    expect(await opened.result()).toEqual({ size: png.length, sha256: sha256(png) });
  });
});

describe('openDownload: redirects', () => {
  it('follows relative redirects and counts them, without leaking the final query', async () => {
    const video = mp4Bytes(2_000);
    ctx.server.route('/a/start', (_req, res) => res.writeHead(302, { location: 'next' }).end());
    ctx.server.route('/a/next', (_req, res) => res.writeHead(307, { location: '/media/final.mp4?sig=secret' }).end());
    ctx.server.serve('/media/final.mp4', video, { 'content-type': 'video/mp4' });

    const opened = await openDownload(`${ctx.server.origin}/a/start`, 'video', ctx.options);
    expect(opened.redirects).toBe(2);
    expect(opened.finalUrl).toBe(`${ctx.server.origin}/media/final.mp4`);
    await drain(opened.body);
    expect((await opened.result()).sha256).toBe(sha256(video));
  });

  it('gives up with blocked_url after maxRedirects', async () => {
    ctx.server.route('/loop', (_req, res) => res.writeHead(301, { location: '/loop' }).end());
    const error = await failure(
      openDownload(`${ctx.server.origin}/loop`, 'video', { ...ctx.options, maxRedirects: 2 }),
    );
    expect(error).toMatchObject({ category: 'blocked_url', retryable: false });
    expect(ctx.server.hits.get('/loop')).toBe(3);
  });

  it('follows none when maxRedirects is 0', async () => {
    ctx.server.route('/once', (_req, res) => res.writeHead(302, { location: '/v.mp4' }).end());
    const error = await failure(
      openDownload(`${ctx.server.origin}/once`, 'video', { ...ctx.options, maxRedirects: 0 }),
    );
    expect(error.category).toBe('blocked_url');
    expect(ctx.server.hits.get('/v.mp4')).toBeUndefined();
  });

  it('checks the scheme and allow-list of every hop', async () => {
    ctx.server.route('/to-ftp', (_req, res) => res.writeHead(302, { location: 'ftp://127.0.0.1/v.mp4' }).end());
    ctx.server.route('/to-other-host', (_req, res) =>
      res.writeHead(302, { location: `http://localhost:${ctx.server.port}/v.mp4` }).end(),
    );
    const allowList = { ...ctx.options, allowedHosts: ['127.0.0.1'] };

    expect((await failure(openDownload(`${ctx.server.origin}/to-ftp`, 'video', ctx.options))).category).toBe(
      'blocked_url',
    );
    const error = await failure(openDownload(`${ctx.server.origin}/to-other-host`, 'video', allowList));
    expect(error.category).toBe('blocked_url');
    expect(ctx.server.hits.get('/v.mp4')).toBeUndefined();
  });

  it('treats a redirect without Location as a non-retryable source_unavailable', async () => {
    ctx.server.route('/nowhere', (_req, res) => res.writeHead(302).end());
    const error = await failure(openDownload(`${ctx.server.origin}/nowhere`, 'video', ctx.options));
    expect(error).toMatchObject({ category: 'source_unavailable', retryable: false, status: 302 });
  });
});

describe('openDownload: URL policy up front', () => {
  it.each([
    ['ftp', 'ftp://127.0.0.1/v.mp4', {}],
    ['http when https is required', 'http://127.0.0.1/v.mp4', { allowHttp: false }],
    ['a host off the allow-list', 'http://127.0.0.1/v.mp4', { allowedHosts: ['*.cloudfront.net'] }],
  ])('refuses %s as blocked_url without a request', async (_name, url, override) => {
    const error = await failure(openDownload(url, 'video', { ...ctx.options, ...override }));
    expect(error).toMatchObject({ category: 'blocked_url', retryable: false });
    expect(ctx.server.connections()).toBe(0);
  });
});

describe('openDownload: status mapping', () => {
  it.each([403, 404, 410])('%i is link_expired, not retryable', async (status) => {
    ctx.server.route('/v.mp4', (_req, res) =>
      res.writeHead(status, { 'content-type': 'text/html' }).end('<h1>gone</h1>'),
    );
    const error = await failure(openDownload(`${ctx.server.origin}/v.mp4`, 'video', ctx.options));
    expect(error).toMatchObject({ category: 'link_expired', retryable: false, status });
  });

  it.each([500, 503])('%i is a retryable source_unavailable', async (status) => {
    ctx.server.route('/v.mp4', (_req, res) => res.writeHead(status).end('oops'));
    const error = await failure(openDownload(`${ctx.server.origin}/v.mp4`, 'video', ctx.options));
    expect(error).toMatchObject({ category: 'source_unavailable', retryable: true, status });
  });

  it('429 carries Retry-After as retryAfterMs', async () => {
    ctx.server.route('/v.mp4', (_req, res) => res.writeHead(429, { 'retry-after': '7' }).end());
    const error = await failure(openDownload(`${ctx.server.origin}/v.mp4`, 'video', ctx.options));
    expect(error).toMatchObject({ category: 'source_unavailable', retryable: true, retryAfterMs: 7000, status: 429 });
  });
});

describe('openDownload: content type', () => {
  it('refuses an HTML page served with 200 text/html', async () => {
    ctx.server.serve('/v.mp4', Buffer.from('<!doctype html><p>login</p>'), {
      'content-type': 'text/html; charset=utf-8',
    });
    const error = await failure(openDownload(`${ctx.server.origin}/v.mp4`, 'video', ctx.options));
    expect(error).toMatchObject({ category: 'content_type_mismatch', retryable: false });
  });

  it('refuses HTML served as video/mp4, by sniffing', async () => {
    ctx.server.serve('/v.mp4', Buffer.from('<!doctype html><html><body>expired</body></html>'), {
      'content-type': 'video/mp4',
    });
    const error = await failure(openDownload(`${ctx.server.origin}/v.mp4`, 'video', ctx.options));
    expect(error).toMatchObject({ category: 'content_type_mismatch', retryable: false });
  });

  it('refuses a video where a cover is expected', async () => {
    ctx.server.serve('/cover.png', mp4Bytes(1_000), { 'content-type': 'image/png' });
    const error = await failure(openDownload(`${ctx.server.origin}/cover.png`, 'cover', ctx.options));
    expect(error.category).toBe('content_type_mismatch');
  });

  it('refuses octet-stream without a matching extension', async () => {
    ctx.server.serve('/download', mp4Bytes(1_000), { 'content-type': 'application/octet-stream' });
    const error = await failure(openDownload(`${ctx.server.origin}/download`, 'video', ctx.options));
    expect(error.category).toBe('content_type_mismatch');
  });
});

describe('openDownload: end of file', () => {
  it('fails a truncated video whose Content-Length matches the truncation, as a retryable source_unavailable', async () => {
    // A source that declares too few bytes: the client reads exactly those, so only the MP4's own
    // box structure shows that the file is cut.
    ctx.server.serve('/video.mp4', mp4Bytes(100_000).subarray(0, 50_000), { 'content-type': 'video/mp4' });
    const opened = await openDownload(`${ctx.server.origin}/video.mp4`, 'video', ctx.options);
    const error = await failure(drain(opened.body));
    expect(error).toMatchObject({ category: 'source_unavailable', retryable: true });
    expect(error.message).toMatch(/^body ends inside an MP4 box/);
  });

  it('fails a PNG cover cut before its IEND', async () => {
    ctx.server.serve('/cover.png', pngBytes(5_000).subarray(0, 4_000), { 'content-type': 'image/png' });
    const opened = await openDownload(`${ctx.server.origin}/cover.png`, 'cover', ctx.options);
    const error = await failure(drain(opened.body));
    expect(error).toMatchObject({ category: 'source_unavailable', retryable: true });
    expect(error.message).toBe('body does not end with the PNG IEND chunk');
  });
});
