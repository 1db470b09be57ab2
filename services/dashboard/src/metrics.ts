import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

/** The dashboard's Prometheus metrics, on a registry of its own (no global state). */
export function createDashboardMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'relay_dashboard_' });
  return {
    registry,
    retries: new Counter({
      name: 'relay_dashboard_retries_total',
      help: 'Failed tasks re-run through the admin API',
      registers: [registry],
    }),
    authThrottled: new Counter({
      name: 'relay_dashboard_auth_throttled_total',
      help: 'Requests answered 429 because their address failed to log in DASHBOARD_AUTH_MAX_FAILURES times in the window',
      registers: [registry],
    }),
  };
}

export type DashboardMetrics = ReturnType<typeof createDashboardMetrics>;
