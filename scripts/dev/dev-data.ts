import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where `npm run dev` keeps its state (see docs/deployment.md, "Development stack"). */
export interface DevDataLayout {
  root: string;
  /** redis-server `--dir`: the append-only file. */
  redis: string;
  /** s3rver's objects. */
  s3: string;
  /** The stack's addresses as `NAME=value` lines, for other tools (`set -a; . .dev-data/dev.env; set +a`). */
  envFile: string;
  /** The running runner and the processes it started (`run-record.ts`), gone after a clean stop. */
  runFile: string;
}

export function devDataLayout(dataDir: string, cwd: string): DevDataLayout {
  const root = resolve(cwd, dataDir);
  return {
    root,
    redis: join(root, 'redis'),
    s3: join(root, 's3'),
    envFile: join(root, 'dev.env'),
    runFile: join(root, 'run.json'),
  };
}

/**
 * Creates the data directories; with `fresh`, empties Redis's and S3's first. Only those two
 * subdirectories are removed, never the data directory itself, whatever `--data-dir` names.
 */
export function prepareDevData(layout: DevDataLayout, fresh: boolean): void {
  if (fresh) {
    rmSync(layout.redis, { recursive: true, force: true });
    rmSync(layout.s3, { recursive: true, force: true });
  }
  mkdirSync(layout.redis, { recursive: true });
  mkdirSync(layout.s3, { recursive: true });
}

/** Values a shell can source as they are: anything beyond a plain word is single-quoted. */
function shellValue(value: string): string {
  return /^[\w@%+=:,./-]*$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Writes `values` as `NAME=value` lines, readable by `set -a; . file` and `process.loadEnvFile`. */
export function writeDevEnv(file: string, values: Record<string, string>): void {
  const lines = [
    '# Written by `npm run dev` at each start: the addresses of the running dev stack.',
    '# Shell: set -a; . .dev-data/dev.env; set +a',
    ...Object.entries(values).map(([name, value]) => `${name}=${shellValue(value)}`),
  ];
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}
