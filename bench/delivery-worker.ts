/**
 * The delivery side of the webhooks benchmark in a process of its own, started through the
 * worker's own `startDelivery` (services/worker/src/delivery/delivery-runtime.ts), the code a
 * worker process runs: the fan-out consumer reading the events stream and the BullMQ
 * `deliveries` worker running the processor (gate, breaker, Standard Webhooks signing, minio
 * presigning, attempt log). Only the callbacks worker, the reconciler and the ops server of a
 * worker process are left out.
 *
 * Env: the worker's variables (parsed by the contracts schema): REDIS_URL, QUEUE_PREFIX,
 * EVENTS_STREAM and the DELIVERY_* ones. Prints `delivery worker ready` once the worker and the
 * consumer group exist.
 */
import { eventsStreamFor, loadWorkerConfig } from '@runway-relay/contracts';
import { DELIVERY_GROUP } from '@runway-relay/delivery';
import { createLogger, createRedis, ensureConsumerGroup } from '@runway-relay/runtime';
import { createMinioClient, createObjectStore } from '@runway-relay/storage';
import { startDelivery } from '@runway-relay/worker';
import { Registry } from 'prom-client';

const config = loadWorkerConfig(process.env);
const logger = createLogger({ service: 'bench-delivery', level: config.LOG_LEVEL });
const redis = createRedis({ url: config.REDIS_URL, role: 'worker', logger, name: 'bench-delivery' });
// Presigning is local computation (HMAC) once the region is given: S3_ENDPOINT is never contacted.
const store = createObjectStore(createMinioClient(config), config);

// The group is created here, before "ready", so no event the bench adds afterwards is missed ('$').
await ensureConsumerGroup(redis, eventsStreamFor(config), DELIVERY_GROUP, '$');
const delivery = startDelivery(config, { logger, redis, store, registry: new Registry() });
await delivery.worker.waitUntilReady();
process.stdout.write('delivery worker ready\n');

// The benchmark's memory probe: with --expose-gc, SIGUSR2 collects garbage and prints the
// process's memory, so "before" and "after" compare what is retained, not what awaits collection.
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write(`memory ${JSON.stringify(process.memoryUsage())}\n`);
});

process.once('SIGTERM', () => {
  void (async () => {
    await delivery.close();
    await redis.quit();
    process.exit(0);
  })();
});
