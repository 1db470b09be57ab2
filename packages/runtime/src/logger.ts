import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths never written to logs: credentials, signatures and the bodies that carry signed
 * media URLs. Request URLs are logged without their query string by the services.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-webhook-signature"]',
  'req.headers["webhook-signature"]',
  'req.headers.cookie',
  'password',
  'secret',
  '*.password',
  '*.secret',
  '*.secretKey',
  '*.accessKey',
];

export interface LoggerOptions {
  /** Service name, written as `service` on every line. */
  service: string;
  level: string;
  /** Where lines go (tests pass a stream to read them back); stdout by default. */
  destination?: NodeJS.WritableStream;
}

/** A pino JSON logger with the relay's redaction rules. */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: { service: options.service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // pino's default destination writes stdout synchronously, so nothing is lost at exit.
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
