import { randomUUID } from 'node:crypto';
import type { RelayEvent } from './event.schema.js';

/** A fresh event id (`evt_<uuid>`). */
export function newEventId(): string {
  return `evt_${randomUUID()}`;
}

/**
 * The id of the event that ends one job: deterministic, so an event re-emitted after a
 * crash (delivery is at-least-once) carries the same id and consumers can drop the copy.
 */
export function outcomeEventId(jobId: string, type: RelayEvent['type'], revision = 0): string {
  // A task an operator re-ran (a resolved conflict) ends again: its new events need new ids.
  return revision > 0 ? `evt_${jobId}_${type}_r${revision}` : `evt_${jobId}_${type}`;
}
