import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { resolveSecretFiles } from './secret-files.js';

/** `true`/`false`/`1`/`0`/`yes`/`no`; `z.coerce.boolean()` would read "false" as true. */
export const envBoolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : v === 'true' || v === '1' || v === 'yes'));

/** Comma-separated list; empty entries are dropped. */
export const envList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );

export const envInt = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const envPort = (fallback: number) => envInt(fallback, 0, 65535);

/** Treats an empty string like an unset variable, as shells and compose files produce both. */
export function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') out[key] = value;
  return out;
}

/**
 * Parses `env` with `schema`, after reading each secret given as `<NAME>_FILE` (see
 * `resolveSecretFiles`); a failure throws a {@link ConfigError} naming each variable.
 */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): Readonly<z.infer<T>> {
  const secrets = resolveSecretFiles(withoutEmpty(env));
  if (secrets.problems.length > 0) throw new ConfigError(secrets.problems);
  const result = schema.safeParse(secrets.env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`));
  }
  return Object.freeze(result.data);
}
