import { jobIdFor, quarantineIdFor, type RelayEvent } from '@runway-relay/contracts';
import { waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardAuth, startStackDashboard, type TestDashboard } from './helpers/dashboard.js';
import { failureBody } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { newTaskId, type Stack, simulatedSuccess, startStack } from './helpers/stack.js';

const backing = useBacking();
let stack: Stack;
let dashboard: TestDashboard;

afterEach(async () => {
  await dashboard?.close();
  await stack?.close();
});

async function start() {
  stack = await startStack(backing);
  dashboard = await startStackDashboard(backing, stack);
}

const get = (url: string) => dashboard.app.inject({ method: 'GET', url, headers: dashboardAuth });
const post = (url: string, body?: unknown, headers: Record<string, string> = {}) =>
  dashboard.app.inject({
    method: 'POST',
    url,
    headers: { ...dashboardAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
/** Outcome events are written before the job completes: a re-run needs the job finished. */
const jobDone = (taskId: string, outcome: 'success' | 'failure') =>
  waitFor(async () => (await dashboard.queue.getJob(jobIdFor(taskId, outcome)))?.isCompleted(), {
    description: `job ${jobIdFor(taskId, outcome)} to complete`,
  });
const eventsOf = async (taskId: string) => (await stack.events()).filter((event) => event.task_id === taskId);
const waitForTaskEvents = (taskId: string, count: number) =>
  waitFor(
    async () => {
      const events = await eventsOf(taskId);
      return events.length >= count ? events : null;
    },
    { timeoutMs: 20_000, description: `${count} events of ${taskId}` },
  );

/** The event is written before the task is marked final (docs/worker.md): wait for the record too. */
const waitForTaskStatus = (taskId: string, status: string) =>
  waitFor(async () => (await stack.task(taskId))?.status === status, {
    timeoutMs: 20_000,
    description: `task ${taskId} ${status}`,
  });

interface TaskView {
  status: string;
  attempts: number;
  last_error: { category: string } | null;
  jobs: Array<{ id: string; state: string; attemptsMade: number }>;
  events: Array<{ id: string; type: string; event: RelayEvent | null }>;
  objects: Array<{ kind: string; url: string | null }>;
  audit: Array<{ action: string; operator: string; via: string; from_status: string; reason: string | null }>;
  revision: number;
}

describe('a provider failure in the task view and Bull Board', () => {
  it('is a completed job named and resulting "provider failure: <category>", and the view agrees with it', async () => {
    await start();
    const taskId = newTaskId();
    expect((await stack.deliver(failureBody(taskId))).status).toBe(200);
    await waitForTaskEvents(taskId, 1);
    await jobDone(taskId, 'failure');
    const job = await dashboard.queue.getJob(jobIdFor(taskId, 'failure'));
    expect(job?.name).toBe('provider failure: prompt_moderation');
    expect(job?.returnvalue).toMatchObject({
      status: 'provider_failure',
      result: 'provider failure: prompt_moderation',
    });
    const view = (await get(`/api/tasks/${taskId}`)).json() as TaskView;
    expect(view.status).toBe('failed');
    expect(view.last_error?.category).toBe('prompt_moderation');
    expect(view.attempts).toBe(1);
    expect(view.jobs).toEqual([expect.objectContaining({ state: 'completed', attemptsMade: view.attempts })]);
    expect(view.events).toEqual([
      expect.objectContaining({
        type: 'task.failed',
        event: expect.objectContaining({ category: 'prompt_moderation' }),
      }),
    ]);
  });
});

describe('GET /api/tasks', () => {
  it('lists by status and category, newest first, with cursor paging', async () => {
    await start();
    const stored = newTaskId();
    const failed = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, stored));
    await waitForTaskStatus(stored, 'stored');
    await stack.deliver(failureBody(failed));
    await waitForTaskStatus(failed, 'failed');

    const all = (await get('/api/tasks')).json() as { tasks: Array<{ task_id: string; status: string }> };
    expect(all.tasks.map((task) => task.task_id)).toEqual([failed, stored]);
    expect((await get('/api/tasks?status=failed')).json()).toMatchObject({
      tasks: [{ task_id: failed, status: 'failed', last_error: { category: 'prompt_moderation' } }],
      next_cursor: null,
    });
    expect((await get('/api/tasks?status=stored')).json().tasks.map((t: { task_id: string }) => t.task_id)).toEqual([
      stored,
    ]);
    expect((await get('/api/tasks?category=prompt_moderation')).json().tasks).toHaveLength(1);
    expect((await get('/api/tasks?category=link_expired')).json()).toEqual({ tasks: [], next_cursor: null });
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get(`/api/tasks?since=${future}`)).json().tasks).toEqual([]);

    const first = (await get('/api/tasks?limit=1')).json() as {
      tasks: Array<{ task_id: string }>;
      next_cursor: string;
    };
    expect(first.tasks.map((task) => task.task_id)).toEqual([failed]);
    const second = (await get(`/api/tasks?limit=1&cursor=${first.next_cursor}`)).json() as {
      tasks: Array<{ task_id: string }>;
      next_cursor: string | null;
    };
    expect(second.tasks.map((task) => task.task_id)).toEqual([stored]);
    const third = (await get(`/api/tasks?limit=1&cursor=${second.next_cursor}`)).json();
    expect(third).toEqual({ tasks: [], next_cursor: null });
  });

  it('answers 400 naming the parameter for bad input', async () => {
    await start();
    for (const [query, param] of [
      ['status=gone', 'status'],
      ['category=nope', 'category'],
      ['since=yesterday', 'since'],
      ['until=2025-13-01', 'until'],
      ['since=2000&until=1000', 'until'],
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      ['sort=asc', '(input)'],
    ] as const) {
      const res = await get(`/api/tasks?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().message, query).toMatch(new RegExp(`^${param.replace(/[()]/g, '\\$&')}`));
    }
  });
});

describe('POST /api/tasks/:taskId/reprocess', () => {
  it('downloads a stored task again under a new revision, with an audit entry; refuses cross-site requests', async () => {
    await start();
    const taskId = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, taskId));
    const [stored] = await waitForTaskEvents(taskId, 1);
    await jobDone(taskId, 'success');

    const forged = await post(`/api/tasks/${taskId}/reprocess`, { reason: 'x' }, { origin: 'https://evil.example' });
    expect(forged.statusCode).toBe(403);
    const notJson = await dashboard.app.inject({
      method: 'POST',
      url: `/api/tasks/${taskId}/reprocess`,
      headers: { ...dashboardAuth, 'content-type': 'text/plain' },
      payload: 'reason',
    });
    expect(notJson.statusCode).toBe(415);

    const res = await post(`/api/tasks/${taskId}/reprocess`, { reason: 'bucket lost the object' });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({
      status: 'reprocessing',
      job_id: jobIdFor(taskId, 'success'),
      revision: 1,
      from_status: 'stored',
    });
    const events = await waitForTaskEvents(taskId, 2);
    expect(events.map((event) => event.id)).toEqual([stored?.id, `${stored?.id}_r1`]);
    const view = (await get(`/api/tasks/${taskId}`)).json() as TaskView;
    expect(view.status).toBe('stored');
    expect(view.revision).toBe(1);
    expect(view.events.map((event) => event.type)).toEqual(['media.stored', 'media.stored']);
    expect(view.audit).toEqual([
      expect.objectContaining({
        action: 'reprocess',
        operator: 'ops',
        via: 'admin_api',
        from_status: 'stored',
        reason: 'bucket lost the object',
      }),
    ]);
    // Its objects were written again: the presigned link serves them.
    const video = view.objects.find((object) => object.kind === 'video');
    expect((await fetch(video?.url ?? '')).status).toBe(200);

    expect((await post(`/api/tasks/${newTaskId()}/reprocess`)).statusCode).toBe(404);
    expect((await post(`/api/tasks/${taskId}/reprocess`, { reason: 'x', extra: 1 })).statusCode).toBe(400);
  });

  it('re-runs a provider failure (a completed job) and Bull Board retry does the same, audited', async () => {
    await start();
    const taskId = newTaskId();
    await stack.deliver(failureBody(taskId));
    await waitForTaskEvents(taskId, 1);
    await jobDone(taskId, 'failure');
    expect((await post(`/api/tasks/${taskId}/reprocess`)).statusCode).toBe(202);
    await waitForTaskEvents(taskId, 2);
    await jobDone(taskId, 'failure');
    const board = await dashboard.app.inject({
      method: 'PUT',
      url: `/admin/queues/api/queues/${dashboard.queue.name}/${jobIdFor(taskId, 'failure')}/retry`,
      headers: dashboardAuth,
    });
    expect(board.statusCode).toBe(204);
    const events = await waitForTaskEvents(taskId, 3);
    expect(events.map((event) => event.type)).toEqual(['task.failed', 'task.failed', 'task.failed']);
    expect(new Set(events.map((event) => event.id)).size).toBe(3);
    const view = (await get(`/api/tasks/${taskId}`)).json() as TaskView;
    expect(view.audit.map((entry) => [entry.action, entry.via])).toEqual([
      ['reprocess', 'admin_api'],
      ['reprocess', 'bull_board'],
    ]);
  });
});

describe('the quarantine', () => {
  it('a success without video_url: callback.rejected event, listed, replay refused until fixed, then admitted', async () => {
    await start();
    const taskId = newTaskId();
    const body = simulatedSuccess(backing.media, taskId);
    const broken = { ...body, data: { ...body.data, video_url: '' } };
    expect((await stack.deliver(broken)).status).toBe(422);
    const id = quarantineIdFor(JSON.stringify(broken));
    const [rejected] = await waitForTaskEvents(taskId, 1);
    expect(rejected).toMatchObject({ type: 'callback.rejected', quarantine_id: id, provider_code: 200 });

    const list = (await get('/api/quarantine')).json();
    expect(list).toMatchObject({ total: 1, next_offset: null, entries: [{ id, task_id: taskId }] });
    expect(list.entries[0]).not.toHaveProperty('body');
    expect((await get(`/api/quarantine/${id}`)).json()).toMatchObject({ id, body: JSON.stringify(broken) });

    const again = await post(`/api/quarantine/${id}/replay`);
    expect(again.statusCode).toBe(422);
    expect(again.json()).toMatchObject({ error: 'invalid_callback', details: [{ path: 'data.video_url' }] });
    const stillBad = await post(`/api/quarantine/${id}/replay`, { body: { ...broken, code: 'x' } });
    expect(stillBad.statusCode).toBe(422);
    expect(stillBad.json().message).toMatch(/code/);
    expect((await get(`/api/quarantine/${id}`)).statusCode).toBe(200);
    expect(await stack.task(taskId)).toBeNull();

    const fixed = await post(`/api/quarantine/${id}/replay`, { body });
    expect(fixed.statusCode).toBe(202);
    expect(fixed.json()).toEqual({ status: 'replayed', decision: 'new', task_id: taskId });
    const events = await waitForTaskEvents(taskId, 2);
    expect(events[1]?.type).toBe('media.stored');
    expect((await get(`/api/quarantine/${id}`)).statusCode).toBe(404);
    const job = await dashboard.queue.getJob(jobIdFor(taskId, 'success'));
    expect(job?.data.receipt.auth).toEqual(['operator_replay']);
    const view = (await get(`/api/tasks/${taskId}`)).json() as TaskView;
    expect(view.audit).toEqual([expect.objectContaining({ action: 'quarantine_replay', operator: 'ops' })]);
  });

  it('discards an entry; unknown or malformed ids are 404 / 400', async () => {
    await start();
    const taskId = newTaskId();
    const broken = { code: 200, msg: 'ok', data: { task_id: taskId } };
    await stack.deliver(broken);
    const id = quarantineIdFor(JSON.stringify(broken));
    const forged = await dashboard.app.inject({
      method: 'DELETE',
      url: `/api/quarantine/${id}`,
      headers: { ...dashboardAuth, 'sec-fetch-site': 'cross-site' },
    });
    expect(forged.statusCode).toBe(403);
    const gone = await dashboard.app.inject({ method: 'DELETE', url: `/api/quarantine/${id}`, headers: dashboardAuth });
    expect(gone.statusCode).toBe(204);
    expect((await get('/api/quarantine')).json()).toEqual({ entries: [], total: 0, next_offset: null });
    const twice = await dashboard.app.inject({
      method: 'DELETE',
      url: `/api/quarantine/${id}`,
      headers: dashboardAuth,
    });
    expect(twice.statusCode).toBe(404);
    expect((await get('/api/quarantine/nope')).statusCode).toBe(400);
    expect((await get('/api/quarantine?limit=0')).json().message).toMatch(/^limit/);
  });
});
