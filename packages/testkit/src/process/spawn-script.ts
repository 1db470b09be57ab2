import { type ChildProcess, spawn } from 'node:child_process';
import { readyOrExit } from '../redis/early-exit.js';
import { waitFor } from '../wait-for.js';
import { splitLines } from './line-splitter.js';

/** Options of {@link spawnScript}. */
export interface SpawnScriptOptions {
  /** Directory the script path is relative to (the repository root). */
  cwd: string;
  /** TypeScript entry point, e.g. `services/worker/src/main.ts`. */
  script: string;
  /** Environment of the child; PATH is added. Nothing else is inherited, so runs are reproducible. */
  env: Record<string, string>;
  /** Shown in errors; default: the script path. */
  name?: string;
  /** Extra `node` flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Arguments of the script itself. */
  args?: string[];
  /**
   * Run in its own process group, so a terminal's Ctrl-C (SIGINT to the whole foreground group)
   * does not reach it: only {@link ScriptProcess.stop} does, and it gets exactly one signal.
   */
  detached?: boolean;
  /**
   * `pipe`: stdin is a pipe whose only write end this process holds, so it ends when this
   * process dies, even by SIGKILL; a service run with `STOP_ON_STDIN_EOF=true` then drains and
   * exits. Default `ignore`.
   */
  stdin?: 'ignore' | 'pipe';
  /** Characters of output kept (the tail), for long runs. Default: all of it. */
  keepChars?: number;
  /** Called with every complete line of stdout and stderr, e.g. to print it. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** How a process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A TypeScript script running as one Node process (its pid is the script's own). */
export interface ScriptProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** stdout and stderr as written so far (the tail with `keepChars`). */
  output(): string;
  /** The pino JSON lines of {@link output}, parsed. */
  lines(): Array<Record<string, unknown>>;
  /** Resolves once a JSON line has this `msg` (or matches the predicate); rejects at once if the process exits. */
  waitForLog(match: string | ((line: Record<string, unknown>) => boolean), timeoutMs?: number): Promise<void>;
  /** Resolves once `url` answers 2xx; rejects at once if the process exits. */
  waitForUrl(url: string, timeoutMs?: number): Promise<void>;
  /**
   * Sends `signal` once and resolves with the exit code (null when killed by a signal); SIGKILL
   * after `graceMs` if it is still running then.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    // A line cut by the kept tail, or a non-JSON line starting with a brace.
    return undefined;
  }
}

/**
 * Runs `node [nodeArgs] --import tsx <script>` — not the tsx CLI, whose wrapper process would
 * take the signal (or SIGKILL) and leave the real script running as an orphan.
 */
export function spawnScript(options: SpawnScriptOptions): ScriptProcess {
  const name = options.name ?? options.script;
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', options.script, ...(options.args ?? [])],
    {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    },
  );
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let output = '';
  const keep = (line: string, stream: 'stdout' | 'stderr') => {
    output += `${line}\n`;
    if (options.keepChars !== undefined && output.length > options.keepChars) output = output.slice(-options.keepChars);
    options.onLine?.(line, stream);
  };
  if (child.stdout) splitLines(child.stdout, (line) => keep(line, 'stdout'));
  if (child.stderr) splitLines(child.stderr, (line) => keep(line, 'stderr'));
  const lines = () =>
    output
      .split('\n')
      .map(parseJsonLine)
      .filter((line) => line !== undefined);
  const whileRunning = (what: string, ready: (signal: AbortSignal) => Promise<unknown>) =>
    readyOrExit(child, ready, `${name} (waiting for ${what})`).then(() => undefined);

  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    pid,
    exited,
    output: () => output,
    lines,
    waitForLog: (match, timeoutMs = 30_000) => {
      const description = typeof match === 'string' ? `${name} log "${match}"` : `${name} log line`;
      const test = typeof match === 'string' ? (line: Record<string, unknown>) => line.msg === match : match;
      return whileRunning(description, (signal) =>
        waitFor(() => lines().some(test), { timeoutMs, description, signal }),
      );
    },
    waitForUrl: (url, timeoutMs = 30_000) =>
      whileRunning(url, (signal) =>
        waitFor(() => fetch(url, { signal }).then((response) => response.ok), {
          timeoutMs,
          intervalMs: 100,
          description: `${name} at ${url}`,
          signal,
        }),
      ),
    stop: async (signal = 'SIGTERM', graceMs = 15_000) => {
      if (!running()) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return (await exited).code;
      } finally {
        clearTimeout(timer);
      }
    },
    kill: async () => {
      if (!running()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
