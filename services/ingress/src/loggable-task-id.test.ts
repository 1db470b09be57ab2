import { describe, expect, it } from 'vitest';
import { LOGGABLE_TASK_ID_MAX, loggableTaskId } from './loggable-task-id.js';

describe('loggableTaskId', () => {
  it('keeps every valid task id as it is, the longest included', () => {
    const longest = `a${'b'.repeat(127)}`;
    for (const id of ['123e4567-e89b-12d3-a456-426614174000', 'task_1.v2', longest]) {
      expect(loggableTaskId(id)).toBe(id);
    }
    expect(LOGGABLE_TASK_ID_MAX).toBe(128);
  });

  it('cuts a long value to a bounded prefix and says how long it was', () => {
    const huge = 'x'.repeat(60_000);
    const logged = loggableTaskId(huge) ?? '';
    expect(logged).toBe(`${'x'.repeat(128)}…[60000 chars]`);
    expect(logged.length).toBeLessThan(150);
  });

  it('replaces anything outside A-Z a-z 0-9 . _ - so a value cannot forge log text', () => {
    expect(loggableTaskId('abc\n{"level":60}\u001b[31m')).toBe('abc???level??60???31m');
    expect(loggableTaskId('täsk 😀')).toBe('t?sk???');
  });

  it('gives undefined for what is not a non-empty string', () => {
    for (const value of [undefined, null, 42, {}, ['a'], '']) expect(loggableTaskId(value)).toBeUndefined();
  });
});
