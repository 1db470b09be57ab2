import type { RegisteredTask } from '@runway-relay/admission';
import { callbackFingerprint, RawCallbackSchema, TaskFailedEventSchema } from '@runway-relay/contracts';
import { ProviderError, type TaskDetail } from '@runway-relay/provider-client';
import { loadFixture } from '@runway-relay/testkit';
import { describe, expect, it } from 'vitest';
import { decidePoll, type ReconcilePolicy } from './poll-decision.js';
import { reconcileFailedEvent } from './reconcile-failure.js';

const POLICY: ReconcilePolicy = { intervalS: 300, maxIntervalS: 3600, maxAgeS: 259_200 };
const T0 = Date.parse('2026-01-01T00:00:00Z');
const NOW = T0 + 1500_000;

const task = (overrides: Partial<RegisteredTask> = {}): RegisteredTask => ({
  taskId: 'ee603959-debb-48d1-98c4-a6d1c717eba6',
  registeredAt: T0,
  model: 'runway',
  metadata: {},
  polls: 0,
  intervalS: 0,
  lastState: undefined,
  terminalAt: undefined,
  terminalReason: undefined,
  ...overrides,
});

const detail = (overrides: Partial<TaskDetail> = {}): TaskDetail => ({
  model: 'runway',
  taskId: 'ee603959-debb-48d1-98c4-a6d1c717eba6',
  state: 'generating',
  video: null,
  failCode: null,
  failMsg: '',
  expired: false,
  ...overrides,
});

const VIDEO = {
  videoId: '485da89c-7fca-4340-8c04-101025b2ae71',
  videoUrl: 'https://file.com/k/xxxxxxx.mp4',
  imageUrl: 'https://file.com/m/xxxxxxxx.png',
};

describe('decidePoll', () => {
  it('success: the job the success callback would make, marked source poll, same dedupe fingerprint', () => {
    const decision = decidePoll(task(), { detail: detail({ state: 'success', video: VIDEO }) }, NOW, POLICY);
    if (decision.kind !== 'enqueue') throw new Error(`got ${decision.kind}`);
    expect(decision.job).toMatchObject({
      v: 1,
      source: 'poll',
      receipt: {
        received_at: new Date(NOW).toISOString(),
        auth: ['provider_api'],
        path: '/api/v1/runway/record-detail',
      },
    });
    const real = loadFixture('callbacks.json').find((f) => f.name === 'success');
    const fromCallback = RawCallbackSchema.parse(real?.body);
    expect({ ...decision.job.callback, msg: fromCallback.msg }).toEqual(fromCallback);
    expect(callbackFingerprint(decision.job.callback)).toBe(callbackFingerprint(fromCallback));
  });

  it('success with expired links: link_expired, nothing to fetch', () => {
    const decision = decidePoll(
      task(),
      { detail: detail({ state: 'success', video: VIDEO, expired: true }) },
      NOW,
      POLICY,
    );
    expect(decision).toMatchObject({
      kind: 'failed',
      failure: { reason: 'link_expired', category: 'link_expired', retryable: false, action: 'resubmit_task' },
    });
  });

  it('fail: classified from failCode and failMsg by the shared classifier', () => {
    const moderated = detail({ state: 'fail', failCode: 400, failMsg: 'Your prompt was caught by our AI moderator.' });
    expect(decidePoll(task(), { detail: moderated }, NOW, POLICY)).toMatchObject({
      kind: 'failed',
      failure: { reason: 'provider_failed', source: 'provider', category: 'prompt_moderation', providerCode: 400 },
    });
    const codeless = detail({ state: 'fail', failCode: null, failMsg: 'Generation failed' });
    expect(decidePoll(task(), { detail: codeless }, NOW, POLICY)).toMatchObject({
      failure: { category: 'provider_error', retryable: true, providerCode: null },
    });
  });

  it('still running: polls again after the interval, doubling up to the maximum', () => {
    const first = decidePoll(task(), { detail: detail({ state: 'queueing' }) }, NOW, POLICY);
    expect(first).toEqual({ kind: 'reschedule', atMs: NOW + 300_000, intervalS: 300, state: 'queueing' });
    expect(decidePoll(task({ intervalS: 300 }), { detail: detail() }, NOW, POLICY)).toMatchObject({ intervalS: 600 });
    expect(decidePoll(task({ intervalS: 2400 }), { detail: detail() }, NOW, POLICY)).toMatchObject({
      intervalS: 3600,
      atMs: NOW + 3_600_000,
    });
  });

  it('no answer: polls again, never before a Retry-After', () => {
    const error = new ProviderError('limited', {
      kind: 'rate_limited',
      endpoint: 'record_detail',
      retryAfterMs: 900_000,
    });
    expect(decidePoll(task(), { error }, NOW, POLICY)).toEqual({
      kind: 'reschedule',
      atMs: NOW + 900_000,
      intervalS: 300,
      state: 'error:rate_limited',
    });
  });

  it('older than the maximum age and still not final: gives up with no_outcome', () => {
    const old = task({ registeredAt: NOW - POLICY.maxAgeS * 1000, polls: 9 });
    const decision = decidePoll(old, { detail: detail({ state: 'wait' }) }, NOW, POLICY);
    expect(decision).toMatchObject({
      kind: 'failed',
      failure: { reason: 'gave_up', category: 'no_outcome', source: 'worker', polls: 10 },
    });
    // A final answer still counts, however old the task.
    expect(decidePoll(old, { detail: detail({ state: 'success', video: VIDEO }) }, NOW, POLICY).kind).toBe('enqueue');
  });
});

describe('reconcileFailedEvent', () => {
  it('is a valid task.failed event with the id of the task failure job event', () => {
    const decision = decidePoll(
      task(),
      { detail: detail({ state: 'fail', failCode: 400, failMsg: 'x' }) },
      NOW,
      POLICY,
    );
    if (decision.kind !== 'failed') throw new Error('expected a failure');
    const event = TaskFailedEventSchema.parse(reconcileFailedEvent(decision.failure, NOW));
    expect(event).toMatchObject({
      id: 'evt_ee603959-debb-48d1-98c4-a6d1c717eba6.failure_task.failed',
      category: 'client_error',
      attempts: 1,
    });
  });
});
