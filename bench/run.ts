/**
 * Runs the benchmarks and writes docs/benchmarks.md and docs/benchmarks.svg.
 *
 *   npm run bench                          every benchmark in BENCHMARKS, in order
 *   npm run bench -- ingress               some of them (the others' latest results stay on the page)
 *   BENCH_DURATION_S=5 npm run bench       shorter load runs (default 10 s)
 *   BENCH_PROFILE=1 npm run bench -- ingress   also CPU-profile the ingress when it meets its target
 *
 * To add a benchmark: write `bench/<name>.ts` exporting `run(ctx: BenchContext): Promise<BenchResult>`
 * (bench/lib/bench-types.ts), start its servers through `ctx.processes` / `ctx.defer` so they
 * are cleaned up, and add one line to BENCHMARKS below.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessSet } from '@runway-relay/testkit';
import type { BenchContext, BenchModule, BenchResult } from './lib/bench-types.js';
import { formatNumber, ratioChart, targetText } from './lib/chart.js';
import { machineInfo, machineLine } from './lib/environment.js';
import { embeddedResults, renderReport } from './lib/report.js';

/** The registry: `npm run bench -- <name>`. Loaded lazily, so one benchmark's imports never slow another. */
const BENCHMARKS: Record<string, () => Promise<BenchModule>> = {
  ingress: () => import('./ingress-ack.js'),
  'duplicate-storm': () => import('./duplicate-storm.js'),
  streaming: () => import('./streaming.js'),
  'end-to-end': () => import('./end-to-end.js'),
  webhooks: () => import('./webhook-delivery.js'),
  'reconcile-recovery': () => import('./reconcile-recovery.js'),
};

const root = fileURLToPath(new URL('..', import.meta.url));
const REPORT = join(root, 'docs', 'benchmarks.md');
const CHART = join(root, 'docs', 'benchmarks.svg');

function selected(argv: readonly string[]): string[] {
  const names = argv.length > 0 ? [...argv] : Object.keys(BENCHMARKS);
  const unknown = names.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
  return names;
}

function durationFromEnv(): number {
  const value = Number(process.env.BENCH_DURATION_S ?? 10);
  if (!Number.isInteger(value) || value < 1 || value > 600) {
    console.error('BENCH_DURATION_S must be a whole number of seconds between 1 and 600');
    process.exit(2);
  }
  return value;
}

const names = selected(process.argv.slice(2));
const durationS = durationFromEnv();
// Keeps the last 64 KiB of each process's output, for error messages.
const processes = new ProcessSet({ cwd: root, keepChars: 64 * 1024 });
const cleanups: Array<() => Promise<void> | void> = [];

async function runCleanups(): Promise<void> {
  for (let cleanup = cleanups.pop(); cleanup; cleanup = cleanups.pop()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

// Whatever happens, no server outlives the run.
process.on('exit', () => processes.killAll());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping`);
    processes.killAll();
    void runCleanups().finally(() => process.exit(130));
  });
}

const machine = machineInfo(root);
const results: BenchResult[] = [];
for (const name of names) {
  const load = BENCHMARKS[name] as () => Promise<BenchModule>;
  const ctx: BenchContext = {
    root,
    durationS,
    processes,
    defer: (cleanup) => void cleanups.push(cleanup),
    log: (message) => process.stderr.write(`[bench ${name}] ${message}\n`),
  };
  ctx.log('starting');
  try {
    const result = await (await load()).run(ctx);
    result.measuredAt = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machineLine(machine)}`;
    results.push(result);
  } catch (error) {
    console.error(`benchmark ${name} failed:`, error);
    await runCleanups();
    process.exit(1);
  }
  await runCleanups();
}

// Benchmarks not run this time keep their latest results.
const previous = existsSync(REPORT) ? embeddedResults(readFileSync(REPORT, 'utf8')) : [];
const all = Object.keys(BENCHMARKS).flatMap((name) => {
  const result = results.find((r) => r.name === name) ?? previous.find((r) => r.name === name);
  return result ? [result] : [];
});
const command = `npm run bench${process.argv.length > 2 ? ` -- ${names.join(' ')}` : ''}`;
const date = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`;
writeFileSync(
  REPORT,
  renderReport({ results: all, machine, command, date, chart: 'benchmarks.svg', registry: Object.keys(BENCHMARKS) }),
);
writeFileSync(CHART, ratioChart(all));

for (const result of results) {
  for (const row of result.rows) console.log(`${result.name}: ${JSON.stringify(row)}`);
  for (const r of result.ratios) {
    const verdict = r.met === undefined ? '' : r.met ? ' (met)' : ' (NOT met)';
    console.log(`${result.name}: ${r.label} = ${formatNumber(r.value)} ${targetText(r)}${verdict}`);
  }
  for (const failure of result.failures ?? []) console.log(`${result.name}: FAILED ${failure}`);
}
console.log(`wrote ${REPORT} and ${CHART}`);
if (results.some((result) => (result.failures ?? []).length > 0)) process.exit(1);
