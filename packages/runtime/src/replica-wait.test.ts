import { describe, expect, it } from 'vitest';
import { groupCommit, type ReplicaAck } from './replica-wait.js';

/** A fake WAIT: records when each one is sent, resolves when the test says so. */
function fakeWait() {
  const sent: Array<{ at: number; resolve: (ack: ReplicaAck) => void; reject: (error: Error) => void }> = [];
  let clock = 0;
  const run = () =>
    new Promise<ReplicaAck>((resolve, reject) => {
      sent.push({ at: clock, resolve, reject });
    });
  return { sent, run, tick: () => ++clock, now: () => clock };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ok = (replicas = 1): ReplicaAck => ({ ok: true, replicas });

describe('groupCommit', () => {
  it('sends one WAIT at once for a lone caller', async () => {
    const fake = fakeWait();
    const wait = groupCommit(fake.run);
    const result = wait();
    expect(fake.sent).toHaveLength(1);
    fake.sent[0]?.resolve(ok());
    expect(await result).toEqual(ok());
  });

  it('makes callers that arrive while a WAIT is in flight share the next one, sent after they called', async () => {
    const fake = fakeWait();
    const wait = groupCommit(fake.run);
    const first = wait();
    fake.tick();
    const joiners = [wait(), wait(), wait()];
    const joinedAt = fake.now();
    expect(fake.sent).toHaveLength(1); // nobody may use the WAIT already on the wire
    fake.sent[0]?.resolve(ok());
    await first;
    await flush();
    expect(fake.sent).toHaveLength(2);
    expect(fake.sent[1]?.at).toBeGreaterThanOrEqual(joinedAt);
    fake.sent[1]?.resolve(ok(2));
    expect(await Promise.all(joiners)).toEqual([ok(2), ok(2), ok(2)]);
    // Idle again: the next caller sends at once.
    void wait();
    expect(fake.sent).toHaveLength(3);
  });

  it('passes a timeout to every sharer, and still sends the next WAIT after a failed one', async () => {
    const fake = fakeWait();
    const wait = groupCommit(fake.run);
    const first = wait();
    const second = wait();
    fake.sent[0]?.reject(new Error('connection closed'));
    await expect(first).rejects.toThrow('connection closed');
    await flush();
    const timeout: ReplicaAck = { ok: false, reason: 'timeout', replicas: 0 };
    fake.sent[1]?.resolve(timeout);
    expect(await second).toEqual(timeout);
  });
});
