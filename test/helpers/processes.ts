import { fileURLToPath } from 'node:url';
import { type ScriptProcess, type ServiceName, spawnService as spawnFromTestkit } from '@runway-relay/testkit';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A service process of a test: see testkit's `spawnScript`. */
export type ServiceProcess = ScriptProcess;

/** Starts `services/<name>/src/main.ts` with exactly `env` (plus PATH), capturing its output. */
export function spawnService(name: ServiceName, env: Record<string, string>): ServiceProcess {
  return spawnFromTestkit(name, { cwd: root, env });
}
