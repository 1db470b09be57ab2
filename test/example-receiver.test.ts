import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { MediaStoredEvent } from '@runway-relay/contracts';
import { buildPayload, generateSecret, signedHeaders } from '@runway-relay/delivery';
import { type RedisServerHarness, startRedisServer, waitFor } from '@runway-relay/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/*
 * examples/webhook-receiver.ts as a real process, sent messages signed by the delivery
 * package's own signer (the headers and body the relay sends, docs/delivery.md §3).
 */

const root = fileURLToPath(new URL('../', import.meta.url));
const SECRET = generateSecret();

interface Receiver {
  url: string;
  child: ChildProcess;
  output(): string;
}

const running: Receiver[] = [];

async function startReceiver(env: Record<string, string> = {}): Promise<Receiver> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/webhook-receiver.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', WEBHOOK_SECRET: SECRET, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const receiver = { child, url: '', output: () => output };
  running.push(receiver);
  receiver.url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`receiver exited: ${output}`);
      return /listening on (http:\/\/\S+)/.exec(output)?.[1];
    },
    { timeoutMs: 20_000, description: 'webhook receiver listening' },
  );
  return receiver;
}

const storedEvent = (n: number): MediaStoredEvent => ({
  v: 1,
  id: `evt_example_${n}`,
  type: 'media.stored',
  task_id: `0f3e9c1a-7b2d-4e5f-8a6b-${String(n).padStart(12, '0')}`,
  at: new Date().toISOString(),
  video_id: `vid_${n}`,
  objects: [
    {
      kind: 'video',
      bucket: 'runway-media',
      key: `runway/task-${n}/video.mp4`,
      size: 2_097_152,
      sha256: 'a'.repeat(64),
      content_type: 'video/mp4',
    },
  ],
  timings: { total_ms: 10, transfer_ms: 5 },
  attempts: 1,
  missing: [],
});

/** The relay's body for event `n`, with the link the relay would presign. */
async function bodyFor(n: number): Promise<string> {
  const payload = await buildPayload(storedEvent(n), {
    metadataFor: async () => ({ user: 'u-1' }),
    presign: async (bucket, key, ttl) =>
      `https://s3.example.com/${bucket}/${key}?X-Amz-Expires=${ttl}&X-Amz-Signature=f00`,
    linkTtlS: 86_400,
  });
  return JSON.stringify(payload);
}

async function send(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const processedLines = (receiver: Receiver, id: string) =>
  receiver
    .output()
    .split('\n')
    .filter((line) => line.startsWith(`processed ${id} `)).length;

afterEach(async () => {
  for (const receiver of running.splice(0)) {
    if (receiver.child.exitCode === null) {
      receiver.child.kill('SIGTERM');
      await once(receiver.child, 'exit');
    }
  }
});

describe('examples/webhook-receiver.ts (seen ids in memory)', () => {
  it('accepts a signed message, prints its video link, and answers a repeat 200 without processing it again', async () => {
    const receiver = await startReceiver();
    const body = await bodyFor(1);
    const id = 'msg_00000000000000000000000000000001';
    const first = await send(receiver.url, body, signedHeaders(SECRET, id, body, new Date()));
    expect(first).toEqual({ status: 200, body: { ok: true } });
    // A retry: same webhook-id, a new timestamp and signature.
    const again = await send(receiver.url, body, signedHeaders(SECRET, id, body, new Date(Date.now() + 1000)));
    expect(again).toEqual({ status: 200, body: { ok: true, duplicate: true } });
    await waitFor(() => receiver.output().includes('video for task'), { timeoutMs: 5000 });
    expect(processedLines(receiver, id)).toBe(1);
    expect(receiver.output()).toContain(
      'video for task 0f3e9c1a-7b2d-4e5f-8a6b-000000000001: https://s3.example.com/runway-media/runway/task-1/video.mp4?X-Amz-Expires=86400',
    );
    // Another message is processed on its own.
    const other = 'msg_00000000000000000000000000000002';
    const body2 = await bodyFor(2);
    expect((await send(receiver.url, body2, signedHeaders(SECRET, other, body2, new Date()))).status).toBe(200);
    await waitFor(() => processedLines(receiver, other) === 1, { timeoutMs: 5000 });
  });

  it('refuses a bad signature, a changed body, a stale timestamp and missing headers, processing none', async () => {
    const receiver = await startReceiver();
    const body = await bodyFor(3);
    const id = 'msg_00000000000000000000000000000003';

    const wrongSecret = await send(receiver.url, body, signedHeaders(generateSecret(), id, body, new Date()));
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.error).toMatch(/signature/i);

    // Signed over the raw body: the same JSON re-serialised with different spacing does not verify.
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    expect((await send(receiver.url, reformatted, signedHeaders(SECRET, id, body, new Date()))).status).toBe(401);

    const stale = await send(receiver.url, body, signedHeaders(SECRET, id, body, new Date(Date.now() - 10 * 60_000)));
    expect(stale.status).toBe(401);
    expect(stale.body.error).toMatch(/timestamp/i);
    const future = await send(receiver.url, body, signedHeaders(SECRET, id, body, new Date(Date.now() + 10 * 60_000)));
    expect(future.status).toBe(401);

    const unsigned = await send(receiver.url, body, { 'webhook-id': id });
    expect(unsigned).toEqual({
      status: 400,
      body: { error: 'missing header(s): webhook-timestamp, webhook-signature' },
    });

    expect(processedLines(receiver, id)).toBe(0);
    // None of the refusals marked the id as seen: the genuine message is still processed.
    expect((await send(receiver.url, body, signedHeaders(SECRET, id, body, new Date()))).body).toEqual({ ok: true });
    await waitFor(() => processedLines(receiver, id) === 1, { timeoutMs: 5000 });
  });
});

describe('examples/webhook-receiver.ts with REDIS_URL (SET NX EX)', () => {
  let redis: RedisServerHarness;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('two replicas sharing Redis process a message once between them', async () => {
    const [a, b] = await Promise.all([
      startReceiver({ REDIS_URL: redis.url }),
      startReceiver({ REDIS_URL: redis.url }),
    ]);
    if (!a || !b) throw new Error('receivers did not start');
    expect(a.output()).toContain('seen ids: Redis');
    const body = await bodyFor(4);
    const id = 'msg_00000000000000000000000000000004';
    expect((await send(a.url, body, signedHeaders(SECRET, id, body, new Date()))).body).toEqual({ ok: true });
    expect((await send(b.url, body, signedHeaders(SECRET, id, body, new Date()))).body).toEqual({
      ok: true,
      duplicate: true,
    });
    await waitFor(() => processedLines(a, id) === 1, { timeoutMs: 5000 });
    expect(processedLines(b, id)).toBe(0);
  });
});
