import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@runway-relay/testkit';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A service started as its own process: `node --import tsx` rather than the tsx CLI, whose
 * wrapper process would take SIGKILL and leave the real service running as an orphan.
 */
export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  /** Parsed pino JSON lines so far. */
  lines(): Array<Record<string, unknown>>;
  waitForLog(msg: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnService(name: 'ingress' | 'worker' | 'dashboard', env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `services/${name}/src/main.ts`], {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const lines = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    child,
    output: () => output,
    lines,
    waitForLog: async (msg, timeoutMs = 30_000) => {
      await waitFor(() => lines().some((line) => line.msg === msg), { timeoutMs, description: `${name} log "${msg}"` });
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = await exited;
      return code as number | null;
    },
  };
}
