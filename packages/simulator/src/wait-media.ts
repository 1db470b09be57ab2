import { setTimeout as sleep } from 'node:timers/promises';
import type { MediaServer } from './media-server.js';

/** Which tasks had both media files fully downloaded at least once. */
export interface MediaFetchReport {
  fetched: string[];
  missing: string[];
}

function report(media: MediaServer, taskIds: readonly string[]): MediaFetchReport {
  const fetched: string[] = [];
  const missing: string[] = [];
  for (const id of taskIds) {
    const done = media.completed(media.pathOf(id, 'video')) > 0 && media.completed(media.pathOf(id, 'cover')) > 0;
    (done ? fetched : missing).push(id);
  }
  return { fetched, missing };
}

/**
 * Waits until the video and cover of every task in `taskIds` were served completely at least
 * once, or `timeoutMs` passes; reports which were and were not.
 */
export async function waitForMediaFetched(
  media: MediaServer,
  taskIds: readonly string[],
  timeoutMs: number,
  intervalMs = 100,
): Promise<MediaFetchReport> {
  const deadline = Date.now() + timeoutMs;
  let current = report(media, taskIds);
  while (current.missing.length > 0 && Date.now() < deadline) {
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
    current = report(media, taskIds);
  }
  return current;
}
