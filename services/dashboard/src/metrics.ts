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
  };
}

export type DashboardMetrics = ReturnType<typeof createDashboardMetrics>;
