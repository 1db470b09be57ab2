// A complete consumer of relay events: `npx tsx examples/consume-events.ts`.
// At-least-once: an event is acknowledged only after the handler resolves; after a crash
// the consumer re-reads its unacknowledged events first. Deduplicate by `event.id`.
// Connects to REDIS_URL; next to `npm run dev`, to the dev stack's Redis (.dev-data/dev.env).
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { defaultEventsStream, redactUrl } from '@runway-relay/contracts';
import { consumeEvents } from '@runway-relay/runtime';
import { Redis } from 'ioredis';

// `npm run dev` writes its addresses there; variables already set win over the file.
const devEnv = new URL('../.dev-data/dev.env', import.meta.url);
const fromDevEnv = existsSync(devEnv);
if (fromDevEnv) process.loadEnvFile(devEnv);
const redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
  console.error('REDIS_URL is not set (and no .dev-data/dev.env from `npm run dev`): set it to the relay’s Redis');
  process.exit(2);
}
const stream = process.env.EVENTS_STREAM ?? defaultEventsStream(process.env.QUEUE_PREFIX ?? 'bull');
// Say where this reads from: a consumer on the wrong Redis waits silently forever.
console.error(
  `consuming ${stream} on ${redactUrl(redisUrl)} as group my-app${fromDevEnv ? ' (settings from .dev-data/dev.env)' : ''}`,
);

const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());

await consumeEvents({
  redis,
  stream,
  group: 'my-app',
  consumer: `${hostname()}-${process.pid}`,
  signal: stop.signal,
  handler: async (event) => {
    if (event.type === 'media.stored') {
      for (const object of event.objects)
        console.log(`${event.task_id}: ${object.kind} at s3://${object.bucket}/${object.key}`);
    } else if (event.type === 'task.conflict') {
      console.log(`${event.task_id}: conflicting callbacks (${event.state}); media held until resolved`);
    } else if (event.type === 'callback.rejected') {
      const fields = event.issues.map((issue) => issue.path).join(', ');
      console.log(`${event.task_id}: a callback was refused (${fields}); quarantined as ${event.quarantine_id}`);
    } else {
      console.log(`${event.task_id} failed: ${event.category} (retryable: ${event.retryable}) → ${event.action}`);
    }
  },
});
redis.disconnect();
