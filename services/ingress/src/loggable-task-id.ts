/**
 * Longest task id written to a log: the longest valid one (`TaskIdSchema`), so a real id is
 * never altered and an attacker's value costs at most this much per line.
 */
export const LOGGABLE_TASK_ID_MAX = 128;

const NOT_ID_CHAR = /[^A-Za-z0-9._-]/g;

/**
 * A task id as it may be logged, whatever the sender put in the body: at most
 * {@link LOGGABLE_TASK_ID_MAX} characters of `A-Z a-z 0-9 . _ -`, every other character
 * replaced by `?`, and `…[N chars]` appended when the value was cut. `undefined` for anything
 * but a non-empty string. For unauthenticated requests, whose body nobody vouches for (a
 * 60 KB `task_id` once made a 60 KB line per 401).
 */
export function loggableTaskId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const prefix = value.slice(0, LOGGABLE_TASK_ID_MAX).replace(NOT_ID_CHAR, '?');
  return value.length > LOGGABLE_TASK_ID_MAX ? `${prefix}…[${value.length} chars]` : prefix;
}
