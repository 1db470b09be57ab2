import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '@runway-relay/runtime';
import { rejected, type Verification, verified } from './verification.js';

export interface ProviderSignatureInput {
  /** Candidate keys (several during a rotation). */
  keys: readonly string[];
  taskId: string | undefined;
  /** `X-Webhook-Timestamp`: Unix seconds. */
  timestamp: string | undefined;
  /** `X-Webhook-Signature`: base64 HMAC-SHA256 of `<task_id>.<timestamp>`. */
  signature: string | undefined;
  /** Current time in ms (injected for tests). */
  nowMs: number;
  toleranceS: number;
}

/** The signature the provider sends for one callback (base64 HMAC-SHA256 of `<task_id>.<timestamp>`), to compare with the one presented. */
export function expectedProviderSignature(key: string, taskId: string, timestamp: string): string {
  return createHmac('sha256', key).update(`${taskId}.${timestamp}`).digest('base64');
}

/**
 * Verifies the provider's callback signature (docs/architecture.md §3). The body itself is not signed by
 * this scheme, only the task id and the timestamp.
 */
export function verifyProviderSignature(input: ProviderSignatureInput): Verification {
  if (!input.signature || !input.timestamp) return rejected('missing X-Webhook-Signature or X-Webhook-Timestamp');
  if (!/^\d{1,12}$/.test(input.timestamp)) return rejected('X-Webhook-Timestamp is not Unix seconds');
  const skewS = Math.abs(input.nowMs / 1000 - Number(input.timestamp));
  if (skewS > input.toleranceS) return rejected('X-Webhook-Timestamp outside the tolerance');
  if (!input.taskId) return rejected('no task id to verify the signature against');
  const presented = input.signature.trim();
  // Check every key, without stopping at the first match, so timing does not tell which key matched.
  let matched = false;
  for (const key of input.keys) {
    if (constantTimeEqual(expectedProviderSignature(key, input.taskId, input.timestamp), presented)) matched = true;
  }
  return matched ? verified : rejected('signature does not match');
}
