import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '@runway-relay/runtime';
import { rejected, type Verification, verified } from './verification.js';

export interface StandardWebhookInput {
  /** `whsec_<base64>` secrets. */
  secrets: readonly string[];
  id: string | undefined;
  /** Unix seconds. */
  timestamp: string | undefined;
  /** Space-separated `v1,<base64>` signatures. */
  signatureHeader: string | undefined;
  /** The exact bytes of the body as received: a decoded string would hide invalid UTF-8. */
  rawBody: Buffer;
  nowMs: number;
  toleranceS: number;
}

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
}

/** Signs a payload the Standard Webhooks way, over the body's bytes (used by tests and by redelivery). */
export function signStandardWebhook(secret: string, id: string, timestamp: string, body: string | Buffer): string {
  const mac = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** Verifies `webhook-id` / `webhook-timestamp` / `webhook-signature` (standardwebhooks.com). */
export function verifyStandardWebhook(input: StandardWebhookInput): Verification {
  if (!input.id || !input.timestamp || !input.signatureHeader) {
    return rejected('missing webhook-id, webhook-timestamp or webhook-signature');
  }
  if (!/^\d{1,12}$/.test(input.timestamp)) return rejected('webhook-timestamp is not Unix seconds');
  if (Math.abs(input.nowMs / 1000 - Number(input.timestamp)) > input.toleranceS) {
    return rejected('webhook-timestamp outside the tolerance');
  }
  const presented = input.signatureHeader
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .slice(0, 10);
  let matched = false;
  for (const secret of input.secrets) {
    const expected = signStandardWebhook(secret, input.id, input.timestamp, input.rawBody);
    for (const candidate of presented) if (constantTimeEqual(expected, candidate)) matched = true;
  }
  return matched ? verified : rejected('signature does not match');
}
