import { createMetricsRegistry } from '@runway-relay/runtime';

/** The dashboard's Prometheus metrics, on a registry of its own (no global state). */
export function createDashboardMetrics() {
  const { registry, counter } = createMetricsRegistry('relay_dashboard_');
  return {
    registry,
    retries: counter('relay_dashboard_retries_total', 'Failed tasks re-run through the admin API'),
    authThrottled: counter(
      'relay_dashboard_auth_throttled_total',
      'Requests answered 429 because their address failed to log in DASHBOARD_AUTH_MAX_FAILURES times in the window',
    ),
  };
}

export type DashboardMetrics = ReturnType<typeof createDashboardMetrics>;
