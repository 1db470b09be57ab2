import { type ScriptProcess, type SpawnScriptOptions, spawnScript } from './spawn-script.js';

/** What every process of a {@link ProcessSet} shares. */
export type ProcessSetDefaults = Pick<SpawnScriptOptions, 'cwd' | 'keepChars' | 'detached' | 'onLine'>;

/** {@link SpawnScriptOptions} where the set's defaults apply unless given. */
export type ProcessSetSpawnOptions = Omit<SpawnScriptOptions, keyof ProcessSetDefaults> & Partial<ProcessSetDefaults>;

/**
 * Owns a run's child processes, so every one of them is gone when the run ends — normally, by
 * an error, or by Ctrl-C.
 */
export class ProcessSet {
  private readonly running = new Set<ScriptProcess>();

  constructor(private readonly defaults: ProcessSetDefaults) {}

  /** Starts a script (see {@link spawnScript}) and tracks it until it exits. */
  spawn(options: ProcessSetSpawnOptions): ScriptProcess {
    const proc = spawnScript({ ...this.defaults, ...options });
    this.running.add(proc);
    void proc.exited.then(() => this.running.delete(proc));
    return proc;
  }

  /** The processes still running, in start order. */
  list(): ScriptProcess[] {
    return [...this.running];
  }

  /** Stops every process with one `signal` each, in parallel, and waits for all of them. */
  async stopAll(signal: NodeJS.Signals = 'SIGTERM', graceMs?: number): Promise<void> {
    await Promise.all(this.list().map((proc) => proc.stop(signal, graceMs)));
  }

  /** Kills every remaining process at once; synchronous, so it also works in an `exit` handler. */
  killAll(): void {
    for (const proc of this.running) proc.child.kill('SIGKILL');
  }
}
