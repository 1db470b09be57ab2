import type { Logger } from 'pino';

export interface ShutdownOptions {
  logger: Logger;
  /** ms the handler gets before the process exits anyway (keep below the container stop period). */
  graceMs: number;
  signals?: NodeJS.Signals[];
  /** Exits the process; injectable for tests. */
  exit?: (code: number) => void;
}

/**
 * Runs `handler` once on the first SIGTERM/SIGINT and exits 0 when it finishes, 1 if it
 * throws or the grace delay passes first. A second signal exits at once.
 */
export function onShutdown(options: ShutdownOptions, handler: (signal: NodeJS.Signals) => Promise<void>): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let shuttingDown = false;
  const listener = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      options.logger.warn({ signal }, 'second signal, exiting now');
      exit(1);
      return;
    }
    shuttingDown = true;
    options.logger.info({ signal, grace_ms: options.graceMs }, 'shutting down');
    const timer = setTimeout(() => {
      options.logger.error({ grace_ms: options.graceMs }, 'shutdown grace period over, exiting');
      exit(1);
    }, options.graceMs);
    timer.unref();
    handler(signal).then(
      () => {
        clearTimeout(timer);
        options.logger.info('shutdown complete');
        options.logger.flush?.();
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        options.logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) process.on(signal, listener);
}
