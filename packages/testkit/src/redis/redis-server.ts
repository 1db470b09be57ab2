import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port.js';
import { startWithPortRetry } from './early-exit.js';
import { waitForRedisReady } from './redis-ready.js';

export interface RedisServerOptions {
  /** Keep data across `restart()` with AOF (fsync every second), for fault tests. */
  persistent?: boolean;
  /** Extra `redis-server` arguments. */
  args?: string[];
  /** Port to listen on (no retry on another one when taken); default: a free port. */
  port?: number;
  /** Data directory (`npm run dev` keeps it across restarts); default: a fresh temp directory. */
  dir?: string;
  /**
   * Own process group, so a terminal's Ctrl-C does not stop Redis before the services using it
   * have drained; `stop()` still does.
   */
  detached?: boolean;
}

export interface RedisServerHarness {
  url: string;
  port: number;
  /** The running server's process id (a new one after `start()`); undefined while stopped. */
  pid(): number | undefined;
  /** Stops the server (SIGTERM, waits for exit). */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it and removes its data for good. */
  dispose(): Promise<void>;
}

function ensureBinary(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'redis-server not found: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) — .ci/run does this automatically',
    );
  }
}

/**
 * Starts a private `redis-server` on a free 127.0.0.1 port, so each test file is hermetic
 * and fault tests may stop, kill and restart it.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHarness> {
  ensureBinary();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'relay-redis-'));
  let port = options.port ?? (await freePort());
  const persistence = options.persistent
    ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '']
    : ['--appendonly', 'no', '--save', ''];
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...persistence, ...(options.args ?? [])],
      { stdio: 'ignore', detached: options.detached ?? false },
    );
    child = proc;
    await waitForRedisReady(proc, port);
  };

  const stopWith = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  };

  // Only the first start may move to another port; a restart keeps the port clients know.
  // A port asked for is what the caller's clients use: no moving it.
  if (options.port !== undefined) await start();
  else
    await startWithPortRetry(start, async () => {
      port = await freePort();
    });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    start,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    dispose: async () => {
      await stopWith('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
