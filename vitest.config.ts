import { defineConfig } from 'vitest/config';

// Each file starts its own redis-server / S3 server / simulator on free ports, so files may run
// in parallel. Most wait on I/O, not the CPU: they run three at a time even on 2 cores. The
// fault and process tests time kills, restarts and memory limits against real processes; they
// run afterwards, one at a time, so other files' load does not change what they measure.
const serial = [
  'test/faults-*.test.ts',
  'test/*-process.test.ts',
  'test/delivery-worker-kill.test.ts',
  'test/dev-stack.test.ts',
  'test/redis-maxmemory.test.ts',
  'test/reconcile-rate-limit.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'parallel',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: serial,
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'serial',
          include: serial,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
