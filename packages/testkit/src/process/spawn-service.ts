import { type ScriptProcess, type SpawnScriptOptions, spawnScript } from './spawn-script.js';

/** The relay's service processes, each started from `services/<name>/src/main.ts`. */
export type ServiceName = 'ingress' | 'worker' | 'dashboard';

/** A service's `main.ts` in its own process (see {@link spawnScript}); `cwd` is the repository root. */
export function spawnService(name: ServiceName, options: Omit<SpawnScriptOptions, 'script' | 'name'>): ScriptProcess {
  return spawnScript({ ...options, name, script: `services/${name}/src/main.ts` });
}
