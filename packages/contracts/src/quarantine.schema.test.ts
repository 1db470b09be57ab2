import { describe, expect, it } from 'vitest';
import { CallbackRejectedEventSchema } from './event.schema.js';
import { buildCallbackRejectedEvent, type QuarantineEntry, quarantineIdFor } from './quarantine.schema.js';

const entry: QuarantineEntry = {
  id: quarantineIdFor('{"code":200}'),
  received_at: '2026-12-03T10:00:00.000Z',
  request_id: 'req-1',
  source_ip: '127.0.0.1',
  path: '/callbacks/runway',
  task_id: 'task-1',
  issues: [{ path: 'data.video_url', message: 'required' }],
  body: '{"code":200}',
};

describe('buildCallbackRejectedEvent', () => {
  // Found by test/ingress-fuzz.test.ts (FUZZ_SEED=1592598566): a code of 2^53 + 2 made the
  // event fail its own schema, and the ingress answered 503 to a body it should refuse with 422.
  it.each([
    [400, 400],
    [2 ** 53 + 2, null],
    [1.5, null],
    ['400', null],
    [undefined, null],
  ])('keeps only a safe integer code: %s → %s', (code, expected) => {
    const event = buildCallbackRejectedEvent(entry, code);
    expect(event?.provider_code).toBe(expected);
    expect(CallbackRejectedEventSchema.safeParse(event).success).toBe(true);
  });

  it('is null for a body that names no task', () => {
    expect(buildCallbackRejectedEvent({ ...entry, task_id: null }, 400)).toBeNull();
  });
});
