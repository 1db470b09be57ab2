import { ConfigError, loadIngressConfig } from '@runway-relay/contracts';
import {
  closeQuietly,
  createLogger,
  createRedis,
  onShutdown,
  redisSafetyAtStart,
  redisSafetyPolicyOf,
} from '@runway-relay/runtime';
import { buildIngressApp, buildIngressOpsApp } from './app.js';
import { createIngressMetrics } from './metrics.js';
import { createCallbackQueue } from './queue.js';

let config: ReturnType<typeof loadIngressConfig>;
try {
  config = loadIngressConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`ingress: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const logger = createLogger({ service: 'ingress', level: config.LOG_LEVEL });
if (config.AUTH_DISABLED) {
  logger.warn('!!! AUTH_DISABLED=true: callbacks are accepted from ANYONE. Local development only. !!!');
}
const redis = createRedis({
  url: config.REDIS_URL,
  clusterNodes: config.REDIS_CLUSTER_NODES,
  role: 'producer',
  logger,
  name: 'ingress',
  commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
});
// Refuse to ACK callbacks into a Redis that may drop them (eviction, no persistence).
const safety = await redisSafetyAtStart(redis, redisSafetyPolicyOf(config), logger);
if (!safety.ok) {
  console.error(`ingress: ${safety.message}`);
  await closeQuietly([redis]);
  process.exit(78); // EX_CONFIG
}
const queue = createCallbackQueue(config, redis);
queue.on('error', (error) => logger.warn({ err: error }, 'queue error'));
const metrics = createIngressMetrics();
const app = buildIngressApp({ config, logger, redis, queue, metrics });
const ops = buildIngressOpsApp({ config, metrics, redis });

onShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS }, async () => {
  // Stop accepting, let in-flight callbacks finish (each is durable before its 200), then close Redis.
  // The ops listener closes after the drain, so metrics can still be scraped during it.
  await app.close();
  await ops.close();
  await queue.close().catch(() => undefined);
  await closeQuietly([redis]);
});

await app.listen({ host: config.INGRESS_HOST, port: config.INGRESS_PORT });
await ops.listen({ host: config.INGRESS_OPS_HOST, port: config.INGRESS_OPS_PORT });
// The bound ports, not the configured ones: port 0 asks the kernel for a free port.
const boundPort = (server: typeof app.server, configured: number) => {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : configured;
};
logger.info(
  {
    host: config.INGRESS_HOST,
    port: boundPort(app.server, config.INGRESS_PORT),
    ops_host: config.INGRESS_OPS_HOST,
    ops_port: boundPort(ops.server, config.INGRESS_OPS_PORT),
    queue: config.QUEUE_NAME,
  },
  'ingress listening',
);
