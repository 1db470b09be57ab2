import { describe, expect, it } from 'vitest';
import { withTimeout } from './with-timeout.js';

describe('withTimeout', () => {
  it('resolves with the work’s value when it answers in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1_000)).resolves.toBe(42);
  });
  it('rejects naming the limit when the work does not answer', async () => {
    await expect(withTimeout(new Promise(() => {}), 20)).rejects.toThrow('no answer within 20 ms');
  });
  it('passes the work’s own rejection through', async () => {
    await expect(withTimeout(Promise.reject(new Error('refused')), 1_000)).rejects.toThrow('refused');
  });
});
