import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliOptions } from './cli.js';
import { type MediaServer, startMediaServer } from './media-server.js';
import { runScenario, type ScenarioSummary } from './scenario.js';

const run = promisify(execFile);

interface StubIngress {
  url: string;
  /** Bodies received, in order. */
  bodies: Array<Record<string, unknown>>;
  /** Distinct task ids acknowledged as new. */
  accepted: Set<string>;
}

const servers: Server[] = [];
const mediaServers: MediaServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const media of mediaServers.splice(0)) await media.close();
});

/**
 * A stand-in for the ingress + worker: acknowledges every callback (new or duplicate) and, when
 * `fetchMedia`, downloads the media of each new success callback as the worker would.
 */
async function stubIngress(fetchMedia: boolean): Promise<StubIngress> {
  const stub: StubIngress = { url: '', bodies: [], accepted: new Set() };
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const body = JSON.parse(text) as { code: number; taskId?: string; data?: Record<string, string> | null };
    stub.bodies.push(body);
    const taskId = body.data?.task_id ?? body.taskId ?? '';
    const isNew = !stub.accepted.has(taskId);
    stub.accepted.add(taskId);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: isNew ? 'received' : 'duplicate', task_id: taskId }));
    if (fetchMedia && isNew && body.code === 200 && body.data) {
      for (const url of [body.data.video_url, body.data.image_url]) {
        if (url) await (await request(url)).body.dump({ limit: Number.MAX_SAFE_INTEGER });
      }
    }
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks/runway`;
  return stub;
}

describe('runScenario', () => {
  it('sends successes, failures and duplicates and reports what the receiver should hold', async () => {
    const ingress = await stubIngress(false);
    const media = await startMediaServer();
    mediaServers.push(media);
    const summary: ScenarioSummary = await runScenario({
      ingressUrl: ingress.url,
      hmacKey: 'k',
      media,
      tasks: 10,
      failureRatio: 0.3,
      duplicateRatio: 0.2,
      concurrency: 3,
      retryDelaysMs: [10],
    });
    expect(summary).toMatchObject({ sent: 12, acked: 12, duplicates: 2, failedDeliveries: 0, unackedTaskIds: [] });
    expect(summary.taskIds).toHaveLength(10);
    expect(summary.expected.success).toHaveLength(7);
    expect(Object.keys(summary.expected.failure)).toHaveLength(3);
    expect(ingress.bodies).toHaveLength(12);
    expect(ingress.accepted).toEqual(new Set(summary.taskIds));
    const successId = summary.expected.success[0] ?? '';
    expect(media.tasks.get(successId)).toMatchObject({ state: 'success', videoUrl: media.url(successId, 'video') });
  });
});

describe('cli', () => {
  it('parses flags and takes the HMAC key from CALLBACK_HMAC_KEYS', () => {
    const options = parseCliOptions(['--tasks', '5', '--failures', '0.5', '--retry-delays', '1,2'], {
      CALLBACK_HMAC_KEYS: 'first, second',
    });
    expect(options).toMatchObject({ tasks: 5, failures: 0.5, retryDelays: [1, 2], hmacKey: 'first', lingerMs: 60_000 });
    expect(() => parseCliOptions(['--failures', '2'])).toThrow();
    expect(() => parseCliOptions(['--bogus', '1'])).toThrow();
  });

  it('runs end to end: prints the summary and exits 0 once every media file was fetched', async () => {
    const ingress = await stubIngress(true);
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const args = ['--ingress', ingress.url, '--tasks', '6', '--failures', '0.5', '--duplicates', '0'];
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', cli, ...args, '--retry-delays', '10', '--linger-ms', '20000', '--video-size', '5000'],
      { env: { ...process.env, CALLBACK_HMAC_KEYS: '' }, timeout: 30_000 },
    );
    const summary = JSON.parse(stdout) as ScenarioSummary;
    expect(summary).toMatchObject({ sent: 6, acked: 6, failedDeliveries: 0 });
    expect(summary.expected.success).toHaveLength(3);
  });
});
