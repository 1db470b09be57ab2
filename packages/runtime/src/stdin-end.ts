import { fstatSync } from 'node:fs';

/**
 * Calls `onEnd` once when stdin, a pipe, reaches its end: the process holding its write end
 * closed it or died (the kernel closes a dead process's descriptors, after SIGKILL too, which no
 * handler of that process sees). Whatever arrives on stdin is read and dropped. Returns false,
 * watching nothing, when stdin is no pipe (a terminal or /dev/null would end or never end for
 * other reasons). Node gives a child's `'pipe'` stdio as a socket pair, a shell's `|` as a FIFO.
 */
export function onStdinEnd(onEnd: () => void): boolean {
  let pipe: boolean;
  try {
    const stat = fstatSync(0);
    pipe = stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
  if (!pipe) return false;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  process.stdin.once('end', end);
  process.stdin.once('close', end);
  // A reset pipe is an end as well: its writer is gone all the same.
  process.stdin.once('error', end);
  process.stdin.resume();
  return true;
}
