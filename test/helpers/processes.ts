import { fileURLToPath } from 'node:url';
import { type ScriptProcess, type ServiceName, spawnService as spawnFromTestkit } from '@runway-relay/testkit';
import type { Backing } from './stack.js';
import { testWorkerEnv } from './worker.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A service process of a test: see testkit's `spawnScript`. */
export type ServiceProcess = ScriptProcess;

/** Starts `services/<name>/src/main.ts` with exactly `env` (plus PATH), capturing its output. */
export function spawnService(name: ServiceName, env: Record<string, string>): ServiceProcess {
  return spawnFromTestkit(name, { cwd: root, env });
}

/**
 * Env of a worker PROCESS on the queue `prefix` (events on `<prefix>:events`, objects under
 * `<prefix>/`): info logs, which the tests wait on, and a killed process's jobs taken over
 * quickly (1.5 s lock, stalled jobs looked for every 0.5 s). `env` adds or overrides.
 */
export function workerProcessEnv(
  backing: Pick<Backing, 'redis' | 's3'>,
  prefix: string,
  env: Record<string, string> = {},
): Record<string, string> {
  return testWorkerEnv(backing.redis.url, backing.s3, {
    QUEUE_PREFIX: prefix,
    EVENTS_STREAM: `${prefix}:events`,
    S3_PREFIX: prefix,
    LOG_LEVEL: 'info',
    WORKER_LOCK_MS: '1500',
    WORKER_STALLED_INTERVAL_MS: '500',
    ...env,
  });
}
