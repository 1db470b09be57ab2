// A complete consumer of relay events: `npx tsx examples/consume-events.ts`.
// At-least-once: an event is acknowledged only after the handler resolves; after a crash
// the consumer re-reads its unacknowledged events first. Deduplicate by `event.id`.

import { hostname } from 'node:os';
import { defaultEventsStream } from '@runway-relay/contracts';
import { consumeEvents } from '@runway-relay/runtime';
import { Redis } from 'ioredis';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());

await consumeEvents({
  redis,
  stream: process.env.EVENTS_STREAM ?? defaultEventsStream(process.env.QUEUE_PREFIX ?? 'bull'),
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
