import { setTimeout as sleep } from 'node:timers/promises';
import { processIdentity } from './process-identity.js';
import { type RecordedProcess, readRunRecord, removeRunRecord } from './run-record.js';

/** Whether the recorded process still runs: the same pid and the same start. */
export function isRunning(recorded: RecordedProcess): boolean {
  return processIdentity(recorded.pid) === recorded.identity;
}

async function goneWithin(recorded: RecordedProcess, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (isRunning(recorded)) {
    if (Date.now() >= until) return false;
    await sleep(100);
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone meanwhile (ESRCH): what we wanted.
  }
}

/**
 * Stops a process that is not our child: SIGTERM, then SIGKILL once `graceMs` have passed;
 * resolves once it is gone. Its identity is checked before each signal, so a pid that now
 * belongs to another process is never signalled.
 */
export async function stopRecorded(recorded: RecordedProcess, graceMs: number): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isRunning(recorded)) return 'gone';
  signal(recorded.pid, 'SIGTERM');
  if (await goneWithin(recorded, graceMs)) return 'stopped';
  if (isRunning(recorded)) signal(recorded.pid, 'SIGKILL');
  await goneWithin(recorded, 10_000);
  return 'killed';
}

export interface LeftoverOptions {
  /** Grace of a service (it drains first); Redis and the rest get `storeGraceMs`. */
  serviceGraceMs: number;
  storeGraceMs: number;
  say: (line: string) => void;
}

/** Processes that keep data the services drain into: stopped after the services. */
const STORES: ReadonlySet<string> = new Set(['redis']);

/**
 * Before a start: stops what a previous run recorded in `file` and left running because that
 * runner was killed (SIGKILL gives it no chance to stop them), services first, then Redis, so
 * their ports are free again. `busy` when that runner is still running: its stack is in use.
 */
export async function stopLeftovers(file: string, options: LeftoverOptions): Promise<'clear' | 'busy'> {
  const record = readRunRecord(file);
  if (record === undefined) return 'clear';
  if (isRunning(record.runner)) {
    options.say(`another \`npm run dev\` (pid ${record.runner.pid}) runs on this data directory: stop it first`);
    return 'busy';
  }
  const alive = record.processes.filter(isRunning);
  if (alive.length > 0) {
    const names = alive.map((recorded) => `${recorded.name} (pid ${recorded.pid})`).join(', ');
    options.say(`the previous run (pid ${record.runner.pid}) ended without stopping ${names}: stopping them now`);
  }
  const stop = async (recorded: RecordedProcess, graceMs: number) => {
    const how = await stopRecorded(recorded, graceMs);
    if (how !== 'gone') options.say(`  ${recorded.name} (pid ${recorded.pid}) ${how}`);
  };
  await Promise.all(alive.filter((p) => !STORES.has(p.name)).map((p) => stop(p, options.serviceGraceMs)));
  await Promise.all(alive.filter((p) => STORES.has(p.name)).map((p) => stop(p, options.storeGraceMs)));
  removeRunRecord(file);
  return 'clear';
}
