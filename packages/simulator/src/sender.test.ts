import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RawCallbackSchema } from '@runway-relay/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCallback, callbackTaskId, failureFixtures } from './callbacks.js';
import { sendCallback, signProviderCallback } from './sender.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A tiny receiver on 127.0.0.1; `answer(n, res)` handles the n-th request (1-based). */
async function receiver(answer: (n: number, res: ServerResponse) => void): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      answer(got.length, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks/runway`, got };
}

const reply = (res: ServerResponse, status: number) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ status: status === 200 ? 'received' : 'error' }));
};

const body = buildCallback('success', 'task-42', {
  video: 'https://cdn.example/v.mp4',
  image: 'https://cdn.example/c.png',
});

describe('sendCallback', () => {
  it('retries after failed attempts and stops at the first 200', async () => {
    const target = await receiver((n, res) => reply(res, n <= 2 ? 500 : 200));
    const result = await sendCallback({ url: target.url, body, retryDelaysMs: [10, 20, 30] });
    expect(result.delivered).toBe(true);
    expect(result.attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(target.got).toHaveLength(3);
    expect(target.got[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(target.got[2]?.body ?? '')).toEqual(body);
  });

  it('counts only 200 as delivered and gives up after the retries', async () => {
    const target = await receiver((_, res) => reply(res, 202));
    const result = await sendCallback({ url: target.url, body, retries: 2, retryDelaysMs: [5] });
    expect(result.delivered).toBe(false);
    expect(result.attempts).toHaveLength(3);
  });

  it('treats an answer slower than timeoutMs as failed and retries', async () => {
    const target = await receiver(() => undefined); // never answers
    const result = await sendCallback({ url: target.url, body, timeoutMs: 200, retries: 1, retryDelaysMs: [10] });
    expect(result.delivered).toBe(false);
    expect(result.attempts.map((a) => a.error)).toEqual(['timeout', 'timeout']);
    expect(target.got).toHaveLength(2);
    for (const attempt of result.attempts) expect(attempt.latencyMs).toBeGreaterThanOrEqual(190);
  });

  it('records network errors', async () => {
    const result = await sendCallback({ url: 'http://127.0.0.1:1/x', body, retries: 0 });
    expect(result.delivered).toBe(false);
    expect(result.attempts[0]?.error).toBeTruthy();
  });

  it('signs each attempt so the receiver can verify it', async () => {
    const target = await receiver((_, res) => reply(res, 200));
    await sendCallback({ url: target.url, body, hmacKey: 'k1', now: () => 1_700_000_000_500 });
    const headers = target.got[0]?.headers ?? {};
    expect(headers['x-webhook-timestamp']).toBe('1700000000');
    const expected = createHmac('sha256', 'k1').update('task-42.1700000000').digest();
    const given = Buffer.from(String(headers['x-webhook-signature']), 'base64');
    expect(given.length === expected.length && timingSafeEqual(given, expected)).toBe(true);
  });

  it('delivers duplicate copies concurrently', async () => {
    // Answers only once all three copies are in flight: sequential copies would time out.
    const pending: ServerResponse[] = [];
    const target = await receiver((n, res) => {
      pending.push(res);
      if (n === 3) for (const held of pending) reply(held, 200);
    });
    const result = await sendCallback({ url: target.url, body, duplicates: 2, timeoutMs: 5000, retries: 0 });
    expect(result.copies).toEqual([true, true, true]);
    expect(target.got).toHaveLength(3);
  });
});

describe('signProviderCallback', () => {
  it('uses the top-level taskId when data has none (Aleph shape)', () => {
    const aleph = { code: 400, msg: 'x', taskId: 'aleph-1', data: null };
    const { 'X-Webhook-Signature': signature } = signProviderCallback(aleph, 'k', 10);
    expect(signature).toBe(createHmac('sha256', 'k').update('aleph-1.10').digest('base64'));
  });
});

describe('buildCallback', () => {
  it('builds a success body with our task id, media links and a video id, valid for the contracts', () => {
    const built = buildCallback('success', 'task-1', {
      video: 'http://127.0.0.1:9/v.mp4',
      image: 'http://127.0.0.1:9/c.png',
    });
    expect(built).toMatchObject({
      code: 200,
      data: { task_id: 'task-1', video_url: 'http://127.0.0.1:9/v.mp4', image_url: 'http://127.0.0.1:9/c.png' },
    });
    expect(RawCallbackSchema.parse(built)).toMatchObject({ task_id: 'task-1', outcome: 'success' });
  });

  it('builds every failure fixture with our task id', () => {
    for (const { name } of failureFixtures()) {
      const built = buildCallback('failure', 'task-f', {}, name);
      expect(callbackTaskId(built)).toBe('task-f');
      expect(RawCallbackSchema.parse(built)).toMatchObject({ task_id: 'task-f', outcome: 'failure' });
    }
  });

  it('keeps the shape of variants (Aleph: top-level taskId, result_* links)', () => {
    const built = buildCallback('success', 'task-a', { video: 'https://x.test/v.mp4' }, 'aleph_success');
    expect(built.taskId).toBe('task-a');
    expect(built.data).toMatchObject({ result_video_url: 'https://x.test/v.mp4' });
    expect(() => buildCallback('failure', 'x', {}, 'success')).toThrow(/is a success/);
  });
});
