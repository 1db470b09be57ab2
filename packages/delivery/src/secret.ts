import { randomBytes } from 'node:crypto';

/** A new Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** What the API shows of a secret: its scheme and last four characters, never the key. */
export function maskSecret(secret: string): string {
  return `whsec_…${secret.slice(-4)}`;
}
