import type { ProcessSet } from '@runway-relay/testkit';

/** One headline figure of a benchmark, drawn as a bar in docs/benchmarks.svg. */
export interface Ratio {
  label: string;
  value: number;
  /** The goal, if there is one. */
  target?: number;
  /** How `value` must compare with `target`; default `>=`. */
  comparison?: '>=' | '<=' | '=';
  /** Whether the goal was met (computed by the benchmark). */
  met?: boolean;
}

/** What one benchmark module reports. */
export interface BenchResult {
  /** The registry name (`npm run bench -- <name>`). */
  name: string;
  /** One line on what was measured. */
  title: string;
  /** Table rows; the union of their keys becomes the columns. */
  rows: Array<Record<string, string | number>>;
  ratios: Ratio[];
  /** Findings, caveats, profiles: one Markdown paragraph or bullet each. */
  notes: string[];
  /** Broken correctness checks: written into the report, and the run exits non-zero. */
  failures?: string[];
  /** ISO time the benchmark finished (set by the orchestrator). */
  measuredAt?: string;
}

/** What the orchestrator hands to every benchmark. */
export interface BenchContext {
  /** Repository root (absolute). */
  root: string;
  /** Seconds per measured load run (`BENCH_DURATION_S`, default 10). */
  durationS: number;
  /** Child processes, killed when the run ends, fails or is interrupted. */
  processes: ProcessSet;
  /** Registers a cleanup, run (last first) after the benchmark or when the run is interrupted. */
  defer(cleanup: () => Promise<void> | void): void;
  /** Progress line on stderr (stdout stays clean). */
  log(message: string): void;
}

/** A benchmark module: `bench/<name>.ts` exporting `run`. */
export interface BenchModule {
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** Checks a value against its goal. */
export function meets(value: number, target: number, comparison: Ratio['comparison'] = '>='): boolean {
  if (comparison === '<=') return value <= target;
  if (comparison === '=') return value === target;
  return value >= target;
}

/** A ratio with `met` filled in. */
export function ratio(label: string, value: number, target?: number, comparison?: Ratio['comparison']): Ratio {
  if (target === undefined) return { label, value };
  return { label, value, target, comparison: comparison ?? '>=', met: meets(value, target, comparison) };
}
