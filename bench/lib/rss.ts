import { readFileSync } from 'node:fs';

/** Resident set size of a process in bytes, read from /proc (Linux). */
export function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** Samples a process's RSS every `intervalMs` until stopped; reports the peak and the first sample. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): { first: number; peak: number; last: number } } {
  const first = rssOf(pid);
  let peak = first;
  let last = first;
  const timer = setInterval(() => {
    try {
      last = rssOf(pid);
      peak = Math.max(peak, last);
    } catch {
      // the process ended
    }
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { first, peak, last };
    },
  };
}
