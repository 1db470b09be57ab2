import { readFileSync } from 'node:fs';

/**
 * Variables whose value is a secret. Each may be given instead as `<NAME>_FILE`, the path of a
 * file holding the value (Docker / Kubernetes secrets are mounted as files, which keeps them out
 * of `docker inspect`, `/proc/<pid>/environ` and crash dumps of the environment).
 * `REDIS_URL` is here because it carries the Redis password when there is one.
 */
export const SECRET_VARIABLES = [
  'REDIS_URL',
  'CALLBACK_HMAC_KEYS',
  'CALLBACK_WEBHOOK_SECRETS',
  'CALLBACK_PATH_TOKEN',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'DASHBOARD_USER',
  'DASHBOARD_PASSWORD',
  'PROVIDER_API_KEY',
  'DELIVERY_SECRET',
] as const;

export interface SecretFilesResult {
  /** `env` with each `<NAME>_FILE` replaced by `<NAME>` = the file's trimmed content. */
  env: Record<string, string>;
  /** One line per bad variable; never a secret's content. */
  problems: string[];
}

/**
 * Resolves `<NAME>_FILE` for every {@link SECRET_VARIABLES} name: the file's content, trimmed
 * (secret files usually end with a newline), becomes `<NAME>`. Setting both `<NAME>` and
 * `<NAME>_FILE`, an unreadable file or an empty one is a problem naming the variable and the
 * path, never the content. `env` holds only non-empty values (see `withoutEmpty`).
 */
export function resolveSecretFiles(
  env: Record<string, string>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): SecretFilesResult {
  const out = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const fileVariable = `${name}_FILE`;
    const path = out[fileVariable];
    if (path === undefined) continue;
    delete out[fileVariable];
    if (out[name] !== undefined) {
      problems.push(`${fileVariable}: ${name} is set too; set only one of them`);
      continue;
    }
    let content: string;
    try {
      content = readFile(path).trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'read error';
      problems.push(`${fileVariable}: cannot read ${path} (${code})`);
      continue;
    }
    if (content === '') {
      problems.push(`${fileVariable}: ${path} is empty`);
      continue;
    }
    out[name] = content;
  }
  return { env: out, problems };
}
