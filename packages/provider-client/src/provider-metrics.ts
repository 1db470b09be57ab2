import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Metrics of the provider client, registered on the caller's registry (the worker's): requests
 * per endpoint and outcome (`ok` or a {@link ProviderErrorKind}), retries, latency, and the time
 * spent waiting for the shared rate limiter.
 */
export function createProviderMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'relay_provider_requests_total',
      help: 'Requests to the provider API (each attempt), by endpoint and outcome (ok, auth, credits, rate_limited, bad_request, server, network, invalid_answer)',
      labelNames: ['endpoint', 'outcome'] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'relay_provider_retries_total',
      help: 'Requests to the provider API attempted again after a retryable failure, by endpoint',
      labelNames: ['endpoint'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'relay_provider_request_duration_seconds',
      help: 'Time of one attempt against the provider API, by endpoint',
      labelNames: ['endpoint'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    limiterWait: new Histogram({
      name: 'relay_provider_rate_limit_wait_seconds',
      help: 'Time a request to the provider API waited for the shared rate limiter',
      buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
  };
}

export type ProviderMetrics = ReturnType<typeof createProviderMetrics>;
