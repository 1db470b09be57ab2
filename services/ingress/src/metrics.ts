import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The ingress's Prometheus metrics, on a registry of its own (no global state). */
export function createIngressMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'relay_ingress_' });
  return {
    registry,
    received: new Counter({
      name: 'relay_callbacks_received_total',
      help: 'Callbacks accepted and durably queued, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'relay_callbacks_duplicate_total',
      help: 'Deliveries of a task already accepted (answered 200 duplicate)',
      registers: [registry],
    }),
    conflicts: new Counter({
      name: 'relay_callbacks_conflict_total',
      help: 'Authenticated callbacks that disagree with the one accepted for their task (the task is held)',
      registers: [registry],
    }),
    securityRejections: new Counter({
      name: 'relay_callbacks_signature_reuse_total',
      help: 'Callbacks refused for reusing a provider signature: replayed (another body) or stale (not newer than the failure it would supersede)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'relay_callbacks_rejected_total',
      help: 'Callbacks answered with an error, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    replicaWaitFailures: new Counter({
      name: 'relay_redis_wait_failures_total',
      help: 'Callbacks answered 503 because fewer than REDIS_WAIT_REPLICAS replicas acknowledged their writes, by reason (timeout, master_changed, master_unreachable)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    connectionsRefused: new Counter({
      name: 'relay_ingress_connections_refused_total',
      help: 'Sockets closed on arrival, by reason (per_ip: INGRESS_MAX_CONNECTIONS_PER_IP, max_connections: INGRESS_MAX_CONNECTIONS)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    ackLatency: new Histogram({
      name: 'relay_callback_ack_seconds',
      help: 'Time from request received to response for callbacks, by status class',
      labelNames: ['status'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers: [registry],
    }),
  };
}

export type IngressMetrics = ReturnType<typeof createIngressMetrics>;
