import { jobIdFor, quarantineIdFor, type RelayEvent } from '@runway-relay/contracts';
import { DELIVERY_QUEUE } from '@runway-relay/delivery';
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

async function start(dashboardEnv: Record<string, string> = {}) {
  stack = await startStack(backing);
  dashboard = await startStackDashboard(backing, stack, dashboardEnv);
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

describe('Bull Board "Retry all" on the callbacks queue', () => {
  /** Over HTTP as Bull Board's UI sends it: a bodyless PUT without Content-Type. */
  const retryAll = (queueName: string, state: string, headers: Record<string, string> = dashboardAuth) =>
    fetch(
      `http://127.0.0.1:${dashboard.port}/admin/queues/api/queues/${encodeURIComponent(queueName)}/retry/${state}`,
      {
        method: 'PUT',
        headers,
      },
    );
  const jobIn = (taskId: string, state: 'completed' | 'failed') =>
    waitFor(
      async () => (await dashboard.queue.getJob(jobIdFor(taskId, 'success')))?.getState().then((s) => s === state),
      {
        timeoutMs: 20_000,
        description: `job ${jobIdFor(taskId, 'success')} ${state}`,
      },
    );
  const stored = async (taskId: string) => {
    await waitForTaskStatus(taskId, 'stored');
    await jobIn(taskId, 'completed');
  };
  const auditOf = async (taskId: string) =>
    ((await get(`/api/tasks/${taskId}`)).json() as TaskView).audit.map((entry) => [
      entry.action,
      entry.via,
      entry.operator,
      entry.from_status,
    ]);

  it('prepares each task record like a re-process, at most DASHBOARD_RETRY_ALL_MAX per request, refusing an open conflict', async () => {
    await start({ DASHBOARD_RETRY_ALL_MAX: '2' });
    const queueName = dashboard.queue.name;
    const nowS = Math.floor(Date.now() / 1000);

    // Completed jobs, oldest first: a task whose callbacks disagree (conflict open), two stored ones.
    const disputed = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, disputed), nowS);
    await stored(disputed);
    expect((await stack.deliver(failureBody(disputed), nowS + 1)).body.status).toBe('conflict');
    const done = [newTaskId(), newTaskId()];
    for (const taskId of done) {
      await stack.deliver(simulatedSuccess(backing.media, taskId));
      await stored(taskId);
    }
    // Failed jobs: media the provider answered 404 for, fixed afterwards.
    const broken = [newTaskId(), newTaskId(), newTaskId()];
    for (const taskId of broken) {
      backing.media.setBehavior(taskId, 'status:404');
      await stack.deliver(simulatedSuccess(backing.media, taskId));
      await waitForTaskStatus(taskId, 'failed');
      await jobIn(taskId, 'failed');
    }
    for (const taskId of broken) backing.media.clearBehavior(taskId);

    // The same guards as every other state-changing request: nothing moves.
    expect((await retryAll(queueName, 'failed', { ...dashboardAuth, origin: 'https://evil.example' })).status).toBe(
      403,
    );
    expect((await retryAll(queueName, 'failed', {})).status).toBe(401);
    expect(await (await dashboard.queue.getJob(jobIdFor(broken[0] ?? '', 'success')))?.getState()).toBe('failed');

    // Failed: the two oldest re-run (cap 2), the third is left for the next press.
    const failedFirst = await retryAll(queueName, 'failed');
    expect(failedFirst.status).toBe(200);
    expect(await failedFirst.json()).toEqual({ retried: 2, skipped: 1, refused: {} });
    for (const taskId of broken.slice(0, 2)) await stored(taskId);
    expect(await (await dashboard.queue.getJob(jobIdFor(broken[2] ?? '', 'success')))?.getState()).toBe('failed');
    expect(await (await retryAll(queueName, 'failed')).json()).toEqual({ retried: 1, skipped: 0, refused: {} });
    await stored(broken[2] ?? '');
    for (const taskId of broken) {
      expect(await auditOf(taskId)).toEqual([['reprocess', 'bull_board', 'ops', 'failed']]);
      const view = (await get(`/api/tasks/${taskId}`)).json() as TaskView;
      expect(view.revision).toBe(1);
      expect(view.last_error).toBeNull();
      expect(view.objects).toHaveLength(2);
    }

    // Completed (now 6 jobs): the disputed task is refused and stays; the next two oldest re-run.
    const completed = await retryAll(queueName, 'completed');
    expect(completed.status).toBe(200);
    expect(await completed.json()).toEqual({ retried: 2, skipped: 4, refused: { conflict_open: 1 } });
    for (const taskId of done) {
      const events = await waitForTaskEvents(taskId, 2);
      expect(events.map((event) => event.type)).toEqual(['media.stored', 'media.stored']);
      expect(events[1]?.id).toBe(`${events[0]?.id}_r1`);
      await stored(taskId);
      expect(await auditOf(taskId)).toEqual([['reprocess', 'bull_board', 'ops', 'stored']]);
    }
    expect(await auditOf(disputed)).toEqual([]);
    expect((await stack.task(disputed))?.conflict_state).toBe('open');
    expect(await (await dashboard.queue.getJob(jobIdFor(disputed, 'success')))?.getState()).toBe('completed');
    // Its single-job "Retry" is refused the same way, naming the way out; the job stays.
    const single = await dashboard.app.inject({
      method: 'PUT',
      url: `/admin/queues/api/queues/${queueName}/${jobIdFor(disputed, 'success')}/retry`,
      headers: dashboardAuth,
    });
    expect(single.statusCode).toBe(409);
    expect(single.json()).toMatchObject({ error: 'conflict_open' });
    expect(single.json().message).toContain(`/api/tasks/${disputed}/conflict`);
    expect(await (await dashboard.queue.getJob(jobIdFor(disputed, 'success')))?.getState()).toBe('completed');
    expect(await auditOf(disputed)).toEqual([]);

    // Other states and the deliveries queue stay Bull Board's own.
    expect((await retryAll(queueName, 'active')).status).toBe(400);
    expect(await (await retryAll(DELIVERY_QUEUE, 'failed')).json()).toEqual({ retried: 0, skipped: 0 });
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
