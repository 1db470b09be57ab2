import { type CollectFunction, Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * A service's Prometheus registry of its own (no global state: tests build many apps in one
 * process), with the process metrics under `processPrefix`, and builders that register each
 * metric on it, so a service's metrics file lists names and help texts, not plumbing.
 */
export function createMetricsRegistry(processPrefix: string) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: processPrefix });
  return {
    registry,
    counter: <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers: [registry] }),
    histogram: <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
      new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] }),
    gauge: <L extends string = never>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
      collect?: CollectFunction<Gauge<L>>,
    ) => new Gauge<L>({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) }),
  };
}
