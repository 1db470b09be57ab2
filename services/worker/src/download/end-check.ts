/** Whether a body ended where its format says a file ends; `reason` says why not. */
export type EndVerdict = { ok: true } | { ok: false; reason: string };

/**
 * An incremental structural check of how a file ends, fed every chunk of the body in order and
 * asked once after the last one. Implementations keep a few bytes of state, never the body.
 */
export interface MediaEndCheck {
  /** Takes the next bytes of the body (the first call gets its first bytes). */
  update(chunk: Buffer): void;
  /** Called once the body has ended: is it a complete file of its type? */
  finish(): EndVerdict;
}
