import { StorageError } from '@runway-relay/storage';
import { describe, expect, it } from 'vitest';
import { createStoreReadiness } from './store-readiness.js';

/** A store whose answers the test decides: `up` or not, counting the requests it got. */
function fakeStore() {
  const store = {
    up: true,
    requests: 0,
    /** When set, requests wait for this promise before answering. */
    gate: null as Promise<void> | null,
    /** Holds every request from now on until the returned function is called. */
    hold: () => {
      let open = () => {};
      store.gate = new Promise((resolve) => {
        open = resolve;
      });
      return open;
    },
    ping: async () => {
      store.requests += 1;
      if (store.gate) await store.gate;
      if (!store.up) throw new StorageError('ping: connect ECONNREFUSED 127.0.0.1:9000');
    },
  };
  return store;
}

describe('createStoreReadiness', () => {
  it('asks the store once per cacheMs while it answers', async () => {
    const store = fakeStore();
    let clock = 0;
    const readiness = createStoreReadiness(store.ping, { cacheMs: 1000, now: () => clock });
    await readiness.check();
    clock = 999;
    await readiness.check();
    expect(store.requests).toBe(1);
    clock = 1000;
    await readiness.check();
    expect(store.requests).toBe(2);
  });

  it('shares one request between concurrent checks', async () => {
    const store = fakeStore();
    const open = store.hold();
    const readiness = createStoreReadiness(store.ping);
    const checks = Promise.all([readiness.check(), readiness.check(), readiness.check()]);
    open();
    await checks;
    expect(store.requests).toBe(1);
  });

  it('rejects with a retryable StorageError while the store is down, asking again each time', async () => {
    const store = fakeStore();
    store.up = false;
    const readiness = createStoreReadiness(store.ping, { now: () => 0 });
    const error = await readiness.check().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({
      category: 'storage_error',
      retryable: true,
      message: 'object store not reachable, source not fetched: ping: connect ECONNREFUSED 127.0.0.1:9000',
    });
    await expect(readiness.check()).rejects.toBeInstanceOf(StorageError);
    expect(store.requests).toBe(2);
    store.up = true;
    await expect(readiness.check()).resolves.toBeUndefined();
  });

  it('fails a check the store does not answer within timeoutMs', async () => {
    const store = fakeStore();
    store.gate = new Promise(() => {});
    const readiness = createStoreReadiness(store.ping, { timeoutMs: 50 });
    await expect(readiness.check()).rejects.toMatchObject({
      category: 'storage_error',
      message: 'object store not reachable, source not fetched: no answer within 50 ms',
    });
  });

  it('asks again after invalidate, also when a check sent before it is still under way', async () => {
    const store = fakeStore();
    const readiness = createStoreReadiness(store.ping, { now: () => 0 });
    await readiness.check();
    readiness.invalidate();
    await readiness.check();
    expect(store.requests).toBe(2);

    const open = store.hold();
    readiness.invalidate();
    const sentBefore = readiness.check();
    readiness.invalidate();
    const sentAfter = readiness.check();
    expect(store.requests).toBe(4);
    open();
    await Promise.all([sentBefore, sentAfter]);
    await readiness.check();
    expect(store.requests).toBe(4);
  });

  it('does not cache an answer to a check sent before invalidate', async () => {
    const store = fakeStore();
    const open = store.hold();
    const readiness = createStoreReadiness(store.ping, { now: () => 0 });
    const sentBefore = readiness.check();
    readiness.invalidate();
    open();
    await sentBefore;
    store.gate = null;
    await readiness.check();
    expect(store.requests).toBe(2);
  });
});
