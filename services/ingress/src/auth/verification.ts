/** Result of one authentication check: expected failures are values, not exceptions. */
export type Verification = { ok: true } | { ok: false; reason: string };

export const verified: Verification = Object.freeze({ ok: true });

export function rejected(reason: string): Verification {
  return { ok: false, reason };
}
