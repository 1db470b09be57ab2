/** A configuration value that stops the service from starting; the message names the variable. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}
