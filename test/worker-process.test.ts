import { once } from 'node:events';
import type { MediaStoredEvent } from '@runway-relay/contracts';
import { generatedSha256 } from '@runway-relay/simulator';
import { waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestIngress, postSigned, type TestIngress } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { type ServiceProcess, spawnService, workerProcessEnv } from './helpers/processes.js';
import { newTaskId, simulatedSuccess } from './helpers/stack.js';
import { readEvents, testWorkerEnv } from './helpers/worker.js';

const backing = useBacking();
let ingress: TestIngress;
const workers: ServiceProcess[] = [];

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop('SIGKILL');
  await ingress?.close();
});

function workerEnv(): Record<string, string> {
  return workerProcessEnv(backing, ingress.config.QUEUE_PREFIX);
}

async function spawnWorker(): Promise<ServiceProcess> {
  const worker = spawnService('worker', workerEnv());
  workers.push(worker);
  await worker.waitForLog('worker started');
  return worker;
}

async function deliver(body: ReturnType<typeof simulatedSuccess>): Promise<void> {
  expect((await postSigned(ingress, body)).statusCode).toBe(200);
}

const storedEvents = async () =>
  (await readEvents(backing.redis.url, `${ingress.config.QUEUE_PREFIX}:events`)).filter(
    (e): e is MediaStoredEvent => e.type === 'media.stored',
  );

async function objectKeys(prefix: string): Promise<string[]> {
  const Minio = await import('minio');
  const { minioClientOptions } = await import('@runway-relay/testkit');
  const minio = new Minio.Client(minioClientOptions(backing.s3));
  const keys: string[] = [];
  for await (const item of minio.listObjectsV2('runway-media', `${prefix}/`, true)) {
    if (item.name) keys.push(item.name);
  }
  return keys.sort();
}

describe('worker processes', () => {
  it('refuses to start on a Redis without persistence, naming the setting', async () => {
    // The backing Redis runs with appendonly no (and no REDIS_WAIT_REPLICAS here).
    const env = testWorkerEnv(backing.redis.url, backing.s3, {
      REDIS_ALLOW_VOLATILE: 'false',
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    });
    const worker = spawnService('worker', env);
    workers.push(worker);
    const exited = once(worker.child, 'exit');
    await waitFor(() => worker.child.exitCode !== null, { timeoutMs: 20_000, description: 'worker exit' });
    const [code] = await exited;
    expect(code).toBe(78);
    expect(worker.output()).toContain('appendonly is no');
    expect(worker.output()).not.toContain('worker started');
  });

  it('a worker SIGKILLed mid-download leaves no partial object; another worker takes the job over', async () => {
    ingress = await buildTestIngress(backing.redis.url, { JOB_ATTEMPTS: '4', JOB_BACKOFF_MS: '50' });
    const prefix = ingress.config.QUEUE_PREFIX;
    const first = await spawnWorker();
    const taskId = newTaskId();
    const size = 1_500_000;
    await deliver(simulatedSuccess(backing.media, taskId, { size, behavior: 'slow:400000' }, null));
    const videoPath = backing.media.pathOf(taskId, 'video');
    await waitFor(() => backing.media.bytesWritten(videoPath) > 300_000, {
      timeoutMs: 20_000,
      description: 'download started',
    });

    await first.stop('SIGKILL');
    expect(await objectKeys(prefix)).toEqual([]);

    await spawnWorker();
    const [event] = await waitFor(
      async () => {
        const events = await storedEvents();
        return events.length > 0 ? events : null;
      },
      { timeoutMs: 40_000, description: 'media.stored after takeover' },
    );
    expect(event?.objects[0]).toMatchObject({ size, sha256: await generatedSha256('video', size, taskId) });
    expect(backing.media.requests(videoPath)).toBe(2);
    expect(await objectKeys(prefix)).toEqual([`${prefix}/${taskId}/video.mp4`]);
    expect(await storedEvents()).toHaveLength(1);
  });

  it('two worker processes share a batch of 50 tasks: each stored exactly once', async () => {
    ingress = await buildTestIngress(backing.redis.url, { JOB_ATTEMPTS: '4', JOB_BACKOFF_MS: '50' });
    const prefix = ingress.config.QUEUE_PREFIX;
    const pair = await Promise.all([spawnWorker(), spawnWorker()]);
    const taskIds = Array.from({ length: 50 }, newTaskId);
    await Promise.all(
      taskIds.map((taskId) => deliver(simulatedSuccess(backing.media, taskId, { size: 40_000 }, { size: 4_000 }))),
    );
    const events = await waitFor(
      async () => {
        const list = await storedEvents();
        return list.length >= 50 ? list : null;
      },
      { timeoutMs: 60_000, description: '50 media.stored' },
    );
    expect(events).toHaveLength(50);
    expect(new Set(events.map((e) => e.task_id))).toEqual(new Set(taskIds));
    for (const taskId of taskIds) {
      expect(backing.media.requests(backing.media.pathOf(taskId, 'video'))).toBe(1);
      expect(backing.media.requests(backing.media.pathOf(taskId, 'cover'))).toBe(1);
    }
    expect(await objectKeys(prefix)).toHaveLength(100);
    const perWorker = pair.map((w) => w.lines().filter((l) => l.msg === 'task stored').length);
    expect((perWorker[0] ?? 0) + (perWorker[1] ?? 0)).toBe(50);
  });

  it('SIGTERM lets the running job finish, then exits 0', async () => {
    ingress = await buildTestIngress(backing.redis.url, { JOB_ATTEMPTS: '4', JOB_BACKOFF_MS: '50' });
    const worker = await spawnWorker();
    const taskId = newTaskId();
    await deliver(simulatedSuccess(backing.media, taskId, { size: 600_000, behavior: 'slow:400000' }, null));
    const videoPath = backing.media.pathOf(taskId, 'video');
    await waitFor(() => backing.media.bytesWritten(videoPath) > 100_000, {
      timeoutMs: 20_000,
      description: 'download started',
    });
    expect(await worker.stop('SIGTERM')).toBe(0);
    const events = await storedEvents();
    expect(events.map((e) => e.task_id)).toEqual([taskId]);
    expect(backing.media.requests(videoPath)).toBe(1);
    expect(worker.lines().some((l) => l.msg === 'shutdown complete')).toBe(true);
  });
});
