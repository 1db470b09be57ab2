/**
 * `npm run dev` (scripts/dev.ts) as a person runs it: the runner in its own process group, as a
 * terminal's foreground job, stopped by SIGINT to that whole group, as Ctrl-C does.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type ScriptProcess, spawnScript, waitFor } from '@runway-relay/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRunning, stopLeftovers } from '../scripts/dev/leftovers.js';
import { readRunRecord } from '../scripts/dev/run-record.js';
import { providerHeaders, TEST_HMAC_KEY } from './helpers/ingress.js';
import { newTaskId } from './helpers/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SERVICES = ['ingress', 'worker', 'dashboard'] as const;

let dataDir: string;
let ports: Record<'redis' | 's3' | 'media' | 'ingress' | 'ops' | 'worker' | 'dashboard', number>;
const runners: ScriptProcess[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'relay-dev-'));
  ports = {
    redis: await freePort(),
    s3: await freePort(),
    media: await freePort(),
    ingress: await freePort(),
    ops: await freePort(),
    worker: await freePort(),
    dashboard: await freePort(),
  };
});
afterEach(async () => {
  // A failed test leaves its runner up: Ctrl-C it, so its servers free their ports.
  for (const runner of runners.splice(0)) {
    if (runner.child.exitCode === null && runner.child.signalCode === null) await ctrlC(runner);
  }
  // A failed test may leave what a killed runner started: stop it as the next start would.
  await stopLeftovers(join(dataDir, 'run.json'), {
    serviceGraceMs: 30_000,
    storeGraceMs: 10_000,
    say: () => undefined,
  });
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the dev runner as a terminal's foreground job: in a process group of its own. */
function startRunner(): ScriptProcess {
  const runner = spawnScript({
    cwd: root,
    script: 'scripts/dev.ts',
    name: 'dev runner',
    detached: true,
    env: {
      INGRESS_PORT: String(ports.ingress),
      INGRESS_OPS_PORT: String(ports.ops),
      WORKER_METRICS_PORT: String(ports.worker),
      DASHBOARD_PORT: String(ports.dashboard),
      CALLBACK_HMAC_KEYS: TEST_HMAC_KEY,
      LOG_LEVEL: 'info',
    },
    args: [
      '--data-dir',
      dataDir,
      '--redis-port',
      String(ports.redis),
      '--s3-port',
      String(ports.s3),
      '--media-port',
      String(ports.media),
    ],
  });
  runners.push(runner);
  return runner;
}

async function untilUp(runner: ScriptProcess): Promise<void> {
  await waitFor(
    () => {
      if (runner.child.exitCode !== null) throw new Error(`dev runner exited:\n${runner.output()}`);
      return runner.output().includes('[dev] the stack is up:');
    },
    { timeoutMs: 150_000, intervalMs: 200, description: `the dev stack up\n${runner.output()}` },
  );
}

/** Ctrl-C in a terminal: SIGINT to every process of the foreground group. */
async function ctrlC(runner: ScriptProcess): Promise<number | null> {
  process.kill(-runner.pid, 'SIGINT');
  const { code } = await runner.exited;
  return code;
}

const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

async function task(taskId: string): Promise<{ status: string; objects: Array<{ url: string | null }> } | null> {
  const response = await fetch(`http://127.0.0.1:${ports.dashboard}/api/tasks/${taskId}`, {
    headers: { authorization: auth },
  });
  return response.ok ? ((await response.json()) as { status: string; objects: Array<{ url: string | null }> }) : null;
}

function devEnv(): Record<string, string> {
  const text = readFileSync(join(dataDir, 'dev.env'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/**
 * What a process that should have exited is doing (Linux): its state, the kernel function it
 * sleeps in and what its stdin/stdout/stderr are, for the message of a failed wait.
 */
function procState(pid: number): string {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return '?';
    }
  };
  const link = (fd: number) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '?';
    }
  };
  const state = /^State:\s*(.*)$/m.exec(read(`/proc/${pid}/status`))?.[1] ?? '?';
  return `[state ${state}, wchan ${read(`/proc/${pid}/wchan`)}, fd 0 ${link(0)}, 1 ${link(1)}, 2 ${link(2)}]`;
}

describe('npm run dev', () => {
  it('Ctrl-C drains each service once, keeps the data, and the next start sees the earlier task', async () => {
    const first = startRunner();
    await untilUp(first);

    const env = devEnv();
    expect(env.REDIS_URL).toBe(`redis://127.0.0.1:${ports.redis}`);
    expect(env.S3_ENDPOINT).toBe(`http://127.0.0.1:${ports.s3}`);
    expect(env.DEV_MEDIA_ORIGIN).toBe(`http://127.0.0.1:${ports.media}`);
    expect(first.output()).toContain(`REDIS_URL=redis://127.0.0.1:${ports.redis}`);

    // The README's first callback: media served by the runner's simulator media server.
    const taskId = newTaskId();
    const media = `${env.DEV_MEDIA_ORIGIN}/media/${taskId}`;
    const response = await fetch(`http://127.0.0.1:${ports.ingress}/callbacks/runway`, {
      method: 'POST',
      headers: providerHeaders(taskId),
      body: JSON.stringify({
        code: 200,
        msg: 'All generated successfully.',
        data: { task_id: taskId, video_id: 'v1', video_url: `${media}/video.mp4`, image_url: `${media}/cover.png` },
      }),
    });
    expect(await response.json()).toEqual({ status: 'received', task_id: taskId });
    await waitFor(async () => (await task(taskId))?.status === 'stored', {
      timeoutMs: 30_000,
      description: 'the first callback stored',
    });

    expect(await ctrlC(first)).toBe(0);
    const output = first.output();
    for (const service of SERVICES) {
      // One signal, one drain: the runner's SIGTERM only, never the terminal's SIGINT as well.
      expect(output.match(new RegExp(`${service}: shutting down`, 'g')), `${service}\n${output}`).toHaveLength(1);
      expect(output.match(new RegExp(`${service}: shutdown complete`, 'g'))).toHaveLength(1);
      expect(output).toContain(`${service}: shutting down {"signal":"SIGTERM"`);
    }
    expect(output).not.toMatch(/second signal|already shutting down/);
    expect(readdirSync(join(dataDir, 'redis'))).toContain('appendonlydir');
    expect(readdirSync(join(dataDir, 's3')).length).toBeGreaterThan(0);

    const second = startRunner();
    await untilUp(second);
    const again = await task(taskId);
    expect(again?.status).toBe('stored');
    expect(again?.objects).toHaveLength(2);
    const video = again?.objects[0]?.url;
    expect(video).toBeTruthy();
    const stored = await fetch(video ?? '');
    expect(stored.status).toBe(200);
    expect((await stored.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(await ctrlC(second)).toBe(0);
  }, 400_000);

  it('refuses to start on a port already taken, naming the port and the flag that moves it', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(ports.redis, '127.0.0.1', resolve));
    try {
      const runner = startRunner();
      const { code } = await runner.exited;
      expect(code).toBe(1);
      expect(runner.output()).toContain(`port ${ports.redis} (Redis) is in use`);
      expect(runner.output()).toContain('--redis-port <port>');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 60_000);

  it('after a SIGKILL of the runner its services drain on their own; the next start stops its Redis', async () => {
    const killed = startRunner();
    await untilUp(killed);
    const record = readRunRecord(join(dataDir, 'run.json'));
    expect(record?.runner.pid).toBe(killed.pid);
    expect(record?.processes.map((recorded) => recorded.name)).toEqual(['redis', ...SERVICES]);
    const started = record?.processes ?? [];

    killed.child.kill('SIGKILL');
    await killed.exited;
    // The end of their stdin pipe (only the runner held it) makes the services drain and exit.
    const services = started.filter((recorded) => recorded.name !== 'redis');
    // The worker's drain may take its whole SHUTDOWN_GRACE_MS (25 s) on a loaded machine.
    await waitFor(() => services.every((recorded) => !isRunning(recorded)), {
      timeoutMs: 120_000,
      description: 'the services to exit after their runner was killed',
    }).catch((error: unknown) => {
      const left = services
        .filter(isRunning)
        .map((recorded) => `${recorded.name} (pid ${recorded.pid}) ${procState(recorded.pid)}`);
      throw new Error(`${String(error)}; still running: ${left.join(', ')}`);
    });
    // Redis cannot watch a pipe: it is still up, on its port.
    const redis = started.find((recorded) => recorded.name === 'redis');
    expect(redis && isRunning(redis)).toBe(true);

    const next = startRunner();
    await untilUp(next);
    const output = next.output();
    expect(output).toContain(
      `[dev] the previous run (pid ${killed.pid}) ended without stopping redis (pid ${redis?.pid}): stopping them now`,
    );
    expect(output).toContain(`[dev]   redis (pid ${redis?.pid}) stopped`);
    expect(output).not.toContain('is in use');
    expect(await ctrlC(next)).toBe(0);
    expect(existsSync(join(dataDir, 'run.json'))).toBe(false);
  }, 400_000);
});
