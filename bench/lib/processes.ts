import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

/** Bytes of output kept per process (the tail), for error messages. */
const OUTPUT_TAIL = 64 * 1024;

export interface SpawnTsOptions {
  /** Environment of the child; PATH is added. Nothing else is inherited, so runs are reproducible. */
  env: Record<string, string>;
  /** Extra `node` flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
}

/** A TypeScript script running in its own Node process. */
export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last 64 KiB of stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Owns the benchmark's child processes, so every one of them is gone when the run ends —
 * normally, by an error, or by Ctrl-C.
 */
export class ProcessGroup {
  private readonly children = new Set<ChildProcess>();

  constructor(private readonly cwd: string) {}

  /** Runs `node [nodeArgs] --import tsx <script>` (one process, so its pid is the server's). */
  spawnTs(script: string, options: SpawnTsOptions): ManagedProcess {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', script], {
      cwd: this.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) throw new Error(`could not start ${script}`);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return {
      child,
      pid: child.pid,
      output: () => tail,
      stop: (graceMs = 15_000) => stopChild(child, graceMs),
    };
  }

  /** Kills every remaining child at once; synchronous, so it also works in an `exit` handler. */
  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    const [code] = await exited;
    return code;
  } finally {
    clearTimeout(timer);
  }
}
