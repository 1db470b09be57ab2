import { prettyFactory } from 'pino-pretty';

/**
 * Prints a service's output for a person: each pino JSON line as one readable line
 * (`12:00:01 INFO ingress: request completed {"task_id":…}`), anything else (a config error on
 * stderr) as it is, prefixed with the service.
 */
export function createLogPrinter(options: { colorize: boolean; write: (text: string) => void }) {
  const pretty = prettyFactory({
    colorize: options.colorize,
    singleLine: true,
    ignore: 'pid,hostname,service',
    translateTime: 'SYS:HH:MM:ss',
    messageFormat: '{service}: {msg}',
  });
  return (service: string, line: string): void => {
    if (line.startsWith('{')) {
      try {
        JSON.parse(line);
        options.write(pretty(line));
        return;
      } catch {
        // Not JSON after all: printed as it is below.
      }
    }
    options.write(`[${service}] ${line}\n`);
  };
}
