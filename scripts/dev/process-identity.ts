import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * What tells a process apart from a later one that was given the same pid: on Linux the boot id
 * and the start time in clock ticks (`/proc/<pid>/stat`, field 22); elsewhere (macOS) the start
 * time `ps -o lstart=` prints, to the second. Undefined when no such process runs (a zombie
 * counts as gone: it holds no port and no file) or it cannot be told.
 */
export function processIdentity(pid: number): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return process.platform === 'linux' ? linuxIdentity(pid) : psIdentity(pid);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function linuxIdentity(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // Field 2, the command name, is in parentheses and may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state] = fields;
  // fields[0] is field 3 (state), fields[19] field 22 (start time).
  const start = fields[19];
  if (state === 'Z' || state === 'X' || !start) return undefined;
  const boot = readText('/proc/sys/kernel/random/boot_id')?.trim() ?? '';
  return `linux:${boot}:${start}`;
}

function psIdentity(pid: number): string | undefined {
  try {
    const out = execFileSync('ps', ['-o', 'stat=', '-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    // The state (first word) changes while a process runs: only the start time identifies it.
    const [state = '', ...start] = out.split(/\s+/);
    return out === '' || state.startsWith('Z') ? undefined : `ps:${start.join(' ')}`;
  } catch {
    // ps exits 1 for a pid that does not exist (or is missing altogether).
    return undefined;
  }
}
