import type { MediaKind } from '@runway-relay/contracts';

/** `<prefix>/<task_id>/<video|cover>.<ext>` (docs/architecture.md §6). The task id charset is already key-safe. */
export function objectKey(prefix: string, taskId: string, kind: MediaKind, ext: string): string {
  const name = `${kind}.${ext}`;
  return prefix === '' ? `${taskId}/${name}` : `${prefix}/${taskId}/${name}`;
}
