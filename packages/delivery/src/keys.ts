/**
 * Every Redis key of webhook delivery. All start with the queue prefix, so a hash-tagged
 * prefix (`{runway}`) keeps them in the slot of the `deliveries` queue (docs/delivery.md).
 */
export interface DeliveryKeys {
  /** Set of the ids of the endpoints created through the store. */
  endpointIds: string;
  /**
   * A token replaced (never reused) in the same transaction as every endpoint change, so a
   * process caching the endpoint list knows with one GET whether its copy is current.
   */
  endpointsVersion: string;
  /** Hash of one endpoint (for `env`: only its runtime state, enabled and disabled_reason). */
  endpoint(id: string): string;
  /** Hash of one message: the event, its endpoint, its status. */
  message(id: string): string;
  /** Capped list of a message's attempts, newest first (JSON). */
  messageAttempts(id: string): string;
  /** Sorted set of an endpoint's message ids, scored by creation time (ms). */
  endpointMessages(id: string): string;
  /** Sorted set of a task's message ids (to any endpoint, deleted ones too), scored by creation time (ms). */
  taskMessages(taskId: string): string;
  /** Sorted set of an endpoint's attempts (JSON members), scored by time (ms). */
  endpointAttempts(id: string): string;
  /** Hash of an endpoint's circuit breaker. */
  breaker(id: string): string;
  /** Sorted set of an endpoint's attempts in flight, scored by when their lease ends. */
  inFlight(id: string): string;
  /** Counter of an endpoint's attempts started in one second. */
  rate(id: string, second: number): string;
}

export function deliveryKeys(prefix: string): DeliveryKeys {
  const base = `${prefix}:delivery`;
  return {
    endpointIds: `${base}:endpoints`,
    endpointsVersion: `${base}:endpoints:version`,
    endpoint: (id) => `${base}:endpoint:${id}`,
    message: (id) => `${base}:msg:${id}`,
    messageAttempts: (id) => `${base}:msg:${id}:attempts`,
    endpointMessages: (id) => `${base}:endpoint:${id}:messages`,
    taskMessages: (taskId) => `${base}:task:${taskId}:messages`,
    endpointAttempts: (id) => `${base}:endpoint:${id}:attempts`,
    breaker: (id) => `${base}:endpoint:${id}:breaker`,
    inFlight: (id) => `${base}:endpoint:${id}:inflight`,
    rate: (id, second) => `${base}:endpoint:${id}:rate:${second}`,
  };
}

/** Name of the queue the delivery attempts run on (docs/delivery.md: why a queue of its own). */
export const DELIVERY_QUEUE = 'deliveries';
