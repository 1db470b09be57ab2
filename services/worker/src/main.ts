import { ConfigError, loadWorkerConfig } from '@runway-relay/contracts';
import {
  closeQuietly,
  createLogger,
  createRedis,
  onShutdown,
  redisConfigReadiness,
  redisSafetyAtStart,
  redisSafetyPolicyOf,
} from '@runway-relay/runtime';
import { createMinioClient, createObjectStore } from '@runway-relay/storage';
import { Queue } from 'bullmq';
import { buildWorker } from './build-worker.js';
import { createSafeAgent, safeAgentOptionsFromConfig } from './download/index.js';
import { createWorkerMetrics } from './metrics.js';
import { buildOpsServer } from './ops-server.js';
import { startUploadSweeper, uploadCleanupReporter } from './storage/upload-sweeper.js';

let config: ReturnType<typeof loadWorkerConfig>;
try {
  config = loadWorkerConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`worker: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const logger = createLogger({ service: 'worker', level: config.LOG_LEVEL });
if (config.DOWNLOAD_ALLOW_PRIVATE)
  logger.warn('DOWNLOAD_ALLOW_PRIVATE=true: media may be fetched from private networks');
const redis = createRedis({
  url: config.REDIS_URL,
  clusterNodes: config.REDIS_CLUSTER_NODES,
  role: 'worker',
  logger,
  name: 'worker',
});
// A Redis that may drop jobs (eviction, no persistence) loses accepted callbacks: refuse it.
const safetyPolicy = redisSafetyPolicyOf(config);
const safety = await redisSafetyAtStart(redis, safetyPolicy, logger);
if (!safety.ok) {
  console.error(`worker: ${safety.message}`);
  await closeQuietly([redis]);
  process.exit(78); // EX_CONFIG
}
const queue = new Queue(config.QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
const metrics = createWorkerMetrics(() => queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed'));
const store = createObjectStore(createMinioClient(config), config, { cleanup: uploadCleanupReporter(logger, metrics) });
const agent = createSafeAgent(safeAgentOptionsFromConfig(config));

// The bucket must exist before the first job; keep trying while the store is starting.
for (let attempt = 1; ; attempt++) {
  try {
    await store.ensureBucket();
    break;
  } catch (error) {
    if (attempt >= 30) throw error;
    logger.warn({ err: error, attempt }, 'object store not ready, retrying');
    await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5000)));
  }
}

const worker = buildWorker({ config, logger, redis, store, agent, metrics });
// Incomplete uploads of workers killed mid-transfer (a failed transfer aborts its own).
const sweeper = startUploadSweeper({
  store,
  prefix: config.S3_PREFIX,
  staleMs: config.S3_STALE_UPLOAD_S * 1000,
  intervalMs: config.S3_SWEEP_INTERVAL_S * 1000,
  logger,
  metrics,
});
const ops = buildOpsServer(metrics.registry, {
  redis: () => redis.ping(),
  redis_config: redisConfigReadiness(redis, safetyPolicy),
  storage: () => store.ping(),
});

onShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS + 2000 }, async () => {
  sweeper.stop();
  // Stop taking jobs and wait for the running ones (bounded by the grace period).
  await worker.close();
  await ops.close();
  await queue.close().catch(() => undefined);
  await agent.close().catch(() => undefined);
  await closeQuietly([redis]);
});

await ops.listen({ host: config.WORKER_METRICS_HOST, port: config.WORKER_METRICS_PORT });
logger.info(
  {
    queue: config.QUEUE_NAME,
    concurrency: config.WORKER_CONCURRENCY,
    bucket: config.S3_BUCKET,
    port: config.WORKER_METRICS_PORT,
  },
  'worker started',
);
