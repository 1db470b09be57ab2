/**
 * Thrown by a service's `start()` when it must not run with what it found (a Redis that may
 * drop ACKed callbacks, for one): {@link runService} prints the message and exits 78
 * (EX_CONFIG), as for a bad variable, since the fix is in the operator's settings.
 */
export class StartRefusedError extends Error {
  override readonly name = 'StartRefusedError';
}
