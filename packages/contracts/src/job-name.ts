import type { Callback } from './callback.schema.js';
import { classifyProviderFailure } from './classifier.js';
import { CALLBACK_JOB_NAME } from './job.schema.js';

/**
 * The BullMQ job name of a callback, which is what Bull Board lists: a success is a plain
 * `callback`; a failure callback says `provider failure: <category>` up front, so an operator
 * scanning the completed jobs sees which tasks the provider failed without opening each one
 * (docs/worker.md, "Provider failures"). Names are labels only: the worker never reads them.
 */
export function callbackJobName(callback: Pick<Callback, 'outcome' | 'code' | 'msg'>): string {
  if (callback.outcome === 'success') return CALLBACK_JOB_NAME;
  return `provider failure: ${classifyProviderFailure(callback.code, callback.msg).category}`;
}
