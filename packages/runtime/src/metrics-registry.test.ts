import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from './metrics-registry.js';

describe('createMetricsRegistry', () => {
  it('registers every metric it builds on its own registry, with the process metrics under the prefix', async () => {
    const { registry, counter, gauge, histogram } = createMetricsRegistry('relay_test_');
    counter('relay_things_total', 'Things, by kind', ['kind']).inc({ kind: 'a' }, 2);
    histogram('relay_thing_seconds', 'Thing time', ['kind'], [0.1, 1]).observe({ kind: 'a' }, 0.5);
    gauge('relay_depth', 'Depth by state', ['state'], async function collect() {
      this.set({ state: 'waiting' }, 7);
    });
    const text = await registry.metrics();
    expect(text).toContain('relay_things_total{kind="a"} 2');
    expect(text).toContain('relay_thing_seconds_bucket{le="1",kind="a"} 1');
    expect(text).toContain('relay_depth{state="waiting"} 7');
    expect(text).toContain('relay_test_process_cpu_user_seconds_total');
  });

  it('gives each call a registry of its own, so two apps in one process do not clash', () => {
    const first = createMetricsRegistry('relay_test_');
    const second = createMetricsRegistry('relay_test_');
    expect(() => {
      first.counter('relay_same_total', 'Same name');
      second.counter('relay_same_total', 'Same name');
    }).not.toThrow();
  });
});
