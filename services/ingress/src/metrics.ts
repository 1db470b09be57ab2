import { createMetricsRegistry } from '@runway-relay/runtime';

/** The ingress's Prometheus metrics, on a registry of its own (no global state). */
export function createIngressMetrics() {
  const { registry, counter, histogram } = createMetricsRegistry('relay_ingress_');
  return {
    registry,
    received: counter('relay_callbacks_received_total', 'Callbacks accepted and durably queued, by outcome', [
      'outcome',
    ]),
    duplicates: counter(
      'relay_callbacks_duplicate_total',
      'Deliveries of a task already accepted (answered 200 duplicate)',
    ),
    conflicts: counter(
      'relay_callbacks_conflict_total',
      'Authenticated callbacks that disagree with the one accepted for their task (the task is held)',
    ),
    securityRejections: counter(
      'relay_callbacks_signature_reuse_total',
      'Callbacks refused for reusing a provider signature: replayed (another body) or stale (not newer than the failure it would supersede)',
      ['reason'],
    ),
    rejected: counter('relay_callbacks_rejected_total', 'Callbacks answered with an error, by reason', ['reason']),
    replicaWaitFailures: counter(
      'relay_redis_wait_failures_total',
      'Callbacks answered 503 because fewer than REDIS_WAIT_REPLICAS replicas acknowledged their writes, by reason (timeout, master_changed, master_unreachable)',
      ['reason'],
    ),
    connectionsRefused: counter(
      'relay_ingress_connections_refused_total',
      'Sockets closed on arrival, by reason (per_ip: INGRESS_MAX_CONNECTIONS_PER_IP, max_connections: INGRESS_MAX_CONNECTIONS)',
      ['reason'],
    ),
    ackLatency: histogram(
      'relay_callback_ack_seconds',
      'Time from request received to response for callbacks, by status class',
      ['status'],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    ),
  };
}

export type IngressMetrics = ReturnType<typeof createIngressMetrics>;
