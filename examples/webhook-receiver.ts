// A minimal receiver of the relay's webhooks: `WEBHOOK_SECRET=whsec_… npx tsx examples/webhook-receiver.ts`.
//
// 1. Verifies the Standard Webhooks signature with the `standardwebhooks` package over the RAW
//    body, exactly as received (re-serialised JSON would not match): bad signature or a
//    timestamp more than 5 minutes off → 401; missing webhook-* headers → 400.
// 2. Is idempotent on `webhook-id`: the relay retries a message for about a day, replays send
//    the same id, and an answer lost on the way back means the same message again. An id seen
//    before answers 200 without being processed twice.
//    The seen-id store is IN MEMORY by default: fine for one process, forgotten on restart and
//    not shared between replicas. With REDIS_URL set it is `SET <key> 1 NX EX <ttl>` on Redis,
//    one atomic claim shared by every replica (see `redisSeenIds`).
// 3. Prints the video link of each media.stored (your application would save it, not print it:
//    the presigned link grants access to the object until `url_expires_at`).
//
// Env: WEBHOOK_SECRET (required), PORT (default 3000; 0 = any free port), HOST (default
// 127.0.0.1), REDIS_URL (optional), SEEN_TTL_S (default 172800: longer than the relay's
// retries of one message, docs/delivery.md §5).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';

const env = z
  .object({
    WEBHOOK_SECRET: z.string().startsWith('whsec_', 'must be the endpoint secret, whsec_…'),
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    HOST: z.string().default('127.0.0.1'),
    REDIS_URL: z.string().optional(),
    SEEN_TTL_S: z.coerce.number().int().positive().default(172_800),
  })
  .parse(process.env);

/** Bodies larger than this are refused before any work (the relay's are a few KiB). */
const MAX_BODY_BYTES = 1024 * 1024;

/** Remembers which `webhook-id`s were processed; `claim` is true the first time only. */
interface SeenIds {
  claim(id: string): Promise<boolean>;
  /** Forgets an id whose processing failed, so the relay's retry processes it. */
  release(id: string): Promise<void>;
}

/** In memory, with a TTL: one process only, lost on restart. */
function memorySeenIds(ttlS: number): SeenIds {
  const expiries = new Map<string, number>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, expiresAt] of expiries) if (expiresAt <= now) expiries.delete(id);
  }, 60_000);
  sweep.unref();
  return {
    async claim(id) {
      const expiresAt = expiries.get(id);
      if (expiresAt !== undefined && expiresAt > Date.now()) return false;
      expiries.set(id, Date.now() + ttlS * 1000);
      return true;
    },
    async release(id) {
      expiries.delete(id);
    },
  };
}

/** On Redis: `SET key 1 NX EX ttl` is one atomic claim shared by every replica, and expires by itself. */
function redisSeenIds(redis: Redis, ttlS: number): SeenIds {
  const key = (id: string) => `webhook-seen:${id}`;
  return {
    claim: async (id) => (await redis.set(key(id), '1', 'EX', ttlS, 'NX')) === 'OK',
    release: async (id) => void (await redis.del(key(id))),
  };
}

/** The part of the relay's payload this receiver reads (docs/delivery.md §3); the rest passes through. */
const PayloadSchema = z.object({
  type: z.string(),
  data: z.object({
    task_id: z.string(),
    outcome: z.string(),
    objects: z.array(z.object({ kind: z.string(), url: z.string(), url_expires_at: z.string() })),
  }),
});
type Payload = z.infer<typeof PayloadSchema>;

/** Your application's work. Here: print what arrived and, for media.stored, the video link. */
async function handle(webhookId: string, payload: Payload): Promise<void> {
  console.log(`processed ${webhookId} ${payload.type} task ${payload.data.task_id} (${payload.data.outcome})`);
  if (payload.type === 'media.stored') {
    const video = payload.data.objects.find((object) => object.kind === 'video');
    if (video) console.log(`video for task ${payload.data.task_id}: ${video.url} (until ${video.url_expires_at})`);
  }
}

class BodyTooLargeError extends Error {}

async function readRawBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function answer(response: ServerResponse, status: number, body: Record<string, unknown>): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const webhook = new Webhook(env.WEBHOOK_SECRET);
const redis = env.REDIS_URL ? new Redis(env.REDIS_URL) : undefined;
const seen = redis ? redisSeenIds(redis, env.SEEN_TTL_S) : memorySeenIds(env.SEEN_TTL_S);

async function onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'POST') return answer(response, 405, { error: 'POST only' });
  let raw: string;
  try {
    raw = await readRawBody(request);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return answer(response, 413, { error: 'body too large' });
    throw error;
  }
  const headers = {
    'webhook-id': request.headers['webhook-id'],
    'webhook-timestamp': request.headers['webhook-timestamp'],
    'webhook-signature': request.headers['webhook-signature'],
  };
  const missing = Object.entries(headers)
    .filter(([, value]) => typeof value !== 'string')
    .map(([name]) => name);
  if (missing.length > 0) return answer(response, 400, { error: `missing header(s): ${missing.join(', ')}` });
  const webhookId = headers['webhook-id'] as string;
  let verified: unknown;
  try {
    // Checks the HMAC over `id.timestamp.raw body` and that the timestamp is within 5 minutes.
    verified = webhook.verify(raw, headers as Record<string, string>);
  } catch (error) {
    if (error instanceof WebhookVerificationError) return answer(response, 401, { error: error.message });
    throw error;
  }
  const payload = PayloadSchema.safeParse(verified);
  if (!payload.success) return answer(response, 400, { error: `unexpected payload: ${payload.error.message}` });

  if (!(await seen.claim(webhookId))) return answer(response, 200, { ok: true, duplicate: true });
  try {
    await handle(webhookId, payload.data);
  } catch (error) {
    // Not processed: forget the id and answer 500, so the relay's retry gets another chance.
    await seen.release(webhookId);
    throw error;
  }
  return answer(response, 200, { ok: true });
}

const server = createServer((request, response) => {
  onRequest(request, response).catch((error: unknown) => {
    console.error('webhook handling failed:', error instanceof Error ? error.message : error);
    if (!response.headersSent) answer(response, 500, { error: 'internal error' });
  });
});
server.requestTimeout = 10_000;
server.listen(env.PORT, env.HOST, () => {
  const { port } = server.address() as AddressInfo;
  console.log(`webhook receiver listening on http://${env.HOST}:${port} (seen ids: ${redis ? 'Redis' : 'in memory'})`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    redis?.disconnect();
  });
}
