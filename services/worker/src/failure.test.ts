import { FAILURE_TAXONOMY } from '@runway-relay/contracts';
import { StorageError } from '@runway-relay/storage';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { DownloadError } from './download/index.js';
import { classifyJobError } from './failure.js';

describe('classifyJobError', () => {
  it('labels a Redis error as an internal worker failure, not a storage one', () => {
    const error = new ReplyError('READONLY You can not write against a read only replica.');
    expect(classifyJobError(error)).toEqual({
      source: 'worker',
      category: 'internal',
      retryable: FAILURE_TAXONOMY.internal.retryable,
      detail: 'READONLY You can not write against a read only replica.',
    });
  });

  it('labels any other error of ours as internal, retryable by the table', () => {
    expect(classifyJobError(new TypeError('x is undefined'))).toMatchObject({
      source: 'worker',
      category: 'internal',
      retryable: true,
    });
    expect(classifyJobError('a thrown string')).toMatchObject({ category: 'internal', detail: 'a thrown string' });
  });

  it("keeps an error's own retryable when it states one", () => {
    const stated = Object.assign(new Error('we will never get this right'), { retryable: false });
    expect(classifyJobError(stated)).toMatchObject({ source: 'worker', category: 'internal', retryable: false });
    const download = new DownloadError('source_unavailable', 'status 400', { status: 400, retryable: false });
    expect(FAILURE_TAXONOMY.source_unavailable.retryable).toBe(true);
    expect(classifyJobError(download)).toMatchObject({ source: 'download', retryable: false });
  });

  it('labels an object store failure as storage_error', () => {
    expect(classifyJobError(new StorageError('put object: connect ECONNREFUSED'))).toEqual({
      source: 'storage',
      category: 'storage_error',
      retryable: true,
      detail: 'put object: connect ECONNREFUSED',
    });
  });
});
