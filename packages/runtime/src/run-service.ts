import { ConfigError } from '@runway-relay/contracts';
import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';
import { StartRefusedError } from './start-refused.js';
import { onStdinEnd } from './stdin-end.js';

/** What a service's composition root returns (`createIngress`, `createWorker`, `createDashboard`). */
export interface ServiceRoot {
  readonly logger: Logger;
  /** Listens (ops port first), waits for the dependencies, starts the work; resolves once running. */
  start(): Promise<unknown>;
  /** Stops taking work, drains what runs, releases every connection. Safe to call more than once. */
  close(): Promise<void>;
}

/** Exit status for a configuration the operator must fix (sysexits.h `EX_CONFIG`). */
export const EXIT_CONFIG = 78;

/**
 * The signals that ask a service to stop. They are handled here rather than by
 * close-with-grace, which exits at once on a second signal: a Ctrl-C under a dev runner sends
 * SIGINT to the whole process group and the runner may add SIGTERM, and that pair must cause
 * one drain, not cut it short.
 */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Runs a service process: loads its config (a `ConfigError` → the message on stderr, exit 78),
 * builds it with `create`, starts it (a {@link StartRefusedError} → the message on stderr,
 * exit 78) and, on the first SIGTERM/SIGINT/SIGHUP, an uncaught exception or an unhandled
 * rejection, calls `close()` once, with `SHUTDOWN_GRACE_MS` to finish before the process
 * exits anyway. Exit 0 after a clean drain, 1 after an error or an overrun. With
 * `STOP_ON_STDIN_EOF`, the end of stdin (its supervisor died) is one more such stop request.
 */
export async function runService<Config extends { SHUTDOWN_GRACE_MS: number; STOP_ON_STDIN_EOF?: boolean }>(
  name: string,
  loadConfig: () => Config,
  create: (config: Config) => ServiceRoot | Promise<ServiceRoot>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const service = await create(config);
  const { logger } = service;
  const graceMs = config.SHUTDOWN_GRACE_MS;
  let draining = false;

  // close-with-grace: the drain on uncaughtException / unhandledRejection and on signals
  // other than ours, the delay after which the process exits anyway, and the exit status.
  const grace = closeWithGrace(
    {
      delay: graceMs,
      logger: false,
      skip: [...STOP_SIGNALS],
      onTimeout: (delay) => logger.error({ grace_ms: delay }, 'shutdown grace period over, exiting'),
      onSecondError: (error) => logger.error({ err: error }, 'error during shutdown, exiting'),
      onSecondSignal: (signal) => logger.warn({ signal }, 'second signal during shutdown, exiting'),
    },
    async ({ err, signal }) => {
      draining = true;
      if (err) logger.fatal({ err }, 'uncaught error, shutting down');
      else if (signal) logger.info({ signal, grace_ms: graceMs }, 'shutting down');
      try {
        await service.close();
      } catch (error) {
        logger.error({ err: error }, 'shutdown failed');
        throw error;
      }
      logger.info('shutdown complete');
    },
  );
  const onStopSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      logger.info({ signal }, 'already shutting down, signal ignored');
      return;
    }
    draining = true;
    logger.info({ signal, grace_ms: graceMs }, 'shutting down');
    grace.close();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onStopSignal);
  if (config.STOP_ON_STDIN_EOF === true) {
    // Installed before start(): a supervisor that dies while the service starts stops it too.
    const watching = onStdinEnd(() => {
      if (draining) return;
      draining = true;
      logger.info({ grace_ms: graceMs }, 'stdin closed (supervisor gone), shutting down');
      grace.close();
    });
    if (!watching) logger.warn('STOP_ON_STDIN_EOF is set but stdin is no pipe: not watched');
  }

  try {
    await service.start();
  } catch (error) {
    // A signal during start closed the service, which ends start() too: the drain exits.
    if (draining) return;
    draining = true;
    grace.uninstall();
    const refused = error instanceof StartRefusedError;
    if (refused) process.stderr.write(`${name}: ${error.message}\n`);
    else logger.fatal({ err: error }, 'start failed');
    const timer = setTimeout(() => process.exit(1), graceMs);
    timer.unref();
    await service.close().catch((closeError: unknown) => logger.error({ err: closeError }, 'close failed'));
    process.exit(refused ? EXIT_CONFIG : 1);
  }
}
