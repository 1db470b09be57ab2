import { ConfigError, type DashboardConfig, loadDashboardConfig } from '@runway-relay/contracts';
import { closeQuietly, createLogger, createRedis, onShutdown } from '@runway-relay/runtime';
import { Queue } from 'bullmq';
import { buildDashboardApp } from './app.js';
import { createDashboardStore } from './object-store.js';

let config: DashboardConfig;
try {
  config = loadDashboardConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`dashboard: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const logger = createLogger({ service: 'dashboard', level: config.LOG_LEVEL });
if (config.defaultCredentials) {
  logger.warn('DASHBOARD_USER / DASHBOARD_PASSWORD unset: using admin/admin. Local development only.');
}
// Fail fast: an admin request while Redis is away gets an error, not a hang.
const redis = createRedis({
  url: config.REDIS_URL,
  clusterNodes: config.REDIS_CLUSTER_NODES,
  role: 'producer',
  logger,
  name: 'dashboard',
});
const queue = new Queue(config.QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
queue.on('error', (error) => logger.warn({ err: error }, 'queue error'));

const store = createDashboardStore(config);

const app = buildDashboardApp({ config, logger, redis, queue, store });

onShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS }, async () => {
  await app.close();
  await queue.close().catch(() => undefined);
  await closeQuietly([redis]);
});

await app.listen({ host: config.DASHBOARD_HOST, port: config.DASHBOARD_PORT });
const shownHost = config.DASHBOARD_HOST === '0.0.0.0' ? '127.0.0.1' : config.DASHBOARD_HOST;
logger.info(
  { url: `http://${shownHost}:${config.DASHBOARD_PORT}/admin/queues`, queue: config.QUEUE_NAME },
  'dashboard listening',
);
