import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** A named source of "CPU seconds used so far". */
export type CpuSource = () => number | Promise<number>;

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) process `pid` has used so far; NaN where there is no /proc. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: count fields after its closing parenthesis.
    // utime and stime are fields 14 and 15 of proc(5), i.e. 11 and 12 after the ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of this process (the load generator). */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** CPU seconds redis-server reports for itself (INFO cpu: main thread and children). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const value = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return value('used_cpu_user') + value('used_cpu_sys');
}

/** Starts a measurement; the returned function gives the CPU seconds each source used since. */
export async function startCpuMeter(
  sources: Record<string, CpuSource>,
): Promise<() => Promise<Record<string, number>>> {
  const read = async () => {
    const out: Record<string, number> = {};
    for (const [name, source] of Object.entries(sources)) out[name] = await source();
    return out;
  };
  const before = await read();
  return async () => {
    const after = await read();
    const used: Record<string, number> = {};
    for (const name of Object.keys(sources)) used[name] = (after[name] ?? Number.NaN) - (before[name] ?? Number.NaN);
    return used;
  };
}
