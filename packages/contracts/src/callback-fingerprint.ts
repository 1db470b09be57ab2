import { createHash } from 'node:crypto';
import type { Callback } from './callback.schema.js';
import type { CallbackSummary } from './event.schema.js';
import { redactUrl } from './redact-url.js';

/**
 * What a callback says, reduced to a hash: two deliveries with the same fingerprint are the
 * same callback sent twice; different fingerprints under one task are a conflict. A success is
 * its media (the message is decoration); a failure is its code and message, which decide its
 * classification.
 */
export function callbackFingerprint(callback: Callback): string {
  const said =
    callback.outcome === 'success'
      ? ['success', callback.code, callback.video_id, callback.video_url, callback.image_url]
      : ['failure', callback.code, callback.msg];
  return createHash('sha256').update(JSON.stringify(said)).digest('hex');
}

/** The summary shown in events and the task record: URLs without their query strings. */
export function summarizeCallback(callback: Callback, receivedAt: string): CallbackSummary {
  return {
    outcome: callback.outcome,
    code: callback.code,
    msg: callback.msg,
    video_id: callback.video_id,
    video_url: callback.video_url === null ? null : redactUrl(callback.video_url),
    image_url: callback.image_url === null ? null : redactUrl(callback.image_url),
    received_at: receivedAt,
  };
}
