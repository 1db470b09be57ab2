import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioSummary } from './scenario.js';

/*
 * The simulator CLI as an operator runs it: a process, through `npm run simulate`, against a
 * plain HTTP receiver that records what arrives. stdout must hold only the JSON summary.
 */

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
const CONTENT_POLICY_ZH = '检测到不当内容,请替换图像或视频。';

let server: Server;
let url = '';
const received: Array<{ code?: unknown; msg?: unknown; data?: { task_id?: string } }> = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let text = '';
    req.setEncoding('utf8');
    for await (const chunk of req) text += chunk;
    received.push(JSON.parse(text) as (typeof received)[number]);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"status":"received"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks/runway`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Runs the CLI through npm as `npm run [-s] simulate -- …args` from the repository root. */
function npmSimulate(silent: boolean, args: string[]) {
  return run('npm', ['run', ...(silent ? ['-s'] : []), 'simulate', '--', ...args], {
    cwd: repoRoot,
    env: { ...process.env, CALLBACK_HMAC_KEYS: '' },
    timeout: 30_000,
  });
}

/** The exit code and streams of a run expected to fail. */
async function failingRun(args: string[]) {
  try {
    await run(process.execPath, ['--import', 'tsx', cli, ...args], { timeout: 20_000 });
  } catch (error) {
    return error as { code: number; stdout: string; stderr: string };
  }
  throw new Error('the CLI exited 0');
}

describe('simulator CLI process', () => {
  it('--help prints the usage on stdout and exits 0 (it used to crash with ERR_PARSE_ARGS_UNKNOWN_OPTION)', async () => {
    for (const flag of ['--help', '-h']) {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', cli, flag], { timeout: 20_000 });
      expect(stdout).toMatch(/^Usage: npm run -s simulate -- \[flags\]/);
      for (const documented of ['--code <n>', '--msg <text>', '--ingress <url>', '--linger-ms <ms>']) {
        expect(stdout).toContain(documented);
      }
      expect(stderr).toBe('');
    }
  });

  it('refuses an unknown flag or a success code with exit 2, the problem and the usage on stderr', async () => {
    const unknown = await failingRun(['--bogus', '1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/Unknown option '--bogus'[\s\S]*Usage:/);
    const success = await failingRun(['--ingress', url, '--code', '200']);
    expect(success.code).toBe(2);
    expect(success.stderr).toMatch(/must not be 200/);
  });

  it('sends the chosen code and Chinese msg; `npm run -s simulate` prints only the JSON summary', async () => {
    received.length = 0;
    const { stdout, stderr } = await npmSimulate(true, [
      ...['--ingress', url, '--tasks', '3', '--duplicates', '0', '--retry-delays', '10'],
      ...['--code', '400', '--msg', CONTENT_POLICY_ZH],
    ]);
    const summary = JSON.parse(stdout) as ScenarioSummary;
    expect(summary).toMatchObject({ sent: 3, acked: 3, failedDeliveries: 0 });
    expect(summary.expected.success).toEqual([]);
    // The expected category is the classifier's answer for the chosen message.
    expect(Object.values(summary.expected.failure)).toEqual(['content_policy', 'content_policy', 'content_policy']);
    expect(received).toHaveLength(3);
    for (const body of received) expect(body).toMatchObject({ code: 400, msg: CONTENT_POLICY_ZH });
    expect(received.map((body) => body.data?.task_id).sort()).toEqual([...summary.taskIds].sort());
    expect(stderr).toContain('sending 3 tasks');
  });

  it('without -s, npm adds its header lines and the summary is the last line of stdout', async () => {
    received.length = 0;
    const { stdout } = await npmSimulate(false, [
      ...['--ingress', url, '--tasks', '2', '--duplicates', '0', '--retry-delays', '10', '--code', '500'],
    ]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    const summary = JSON.parse(lines.at(-1) ?? '') as ScenarioSummary;
    expect(summary).toMatchObject({ sent: 2, acked: 2 });
    // No msg chosen: the fixture's stays, with code 500 the classifier's provider_error or its message's category.
    expect(received.map((body) => body.code)).toEqual([500, 500]);
    expect(Object.keys(summary.expected.failure)).toHaveLength(2);
  });
});
