import { loadRecordDetailFixtures } from '@runway-relay/testkit';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MediaServer, startMediaServer } from './media-server.js';
import { recordDetailBody } from './provider-api.js';

let media: MediaServer;
beforeAll(async () => {
  media = await startMediaServer({ apiKey: 'sim-key' });
});
afterAll(async () => {
  await media?.close();
});

let counter = 0;
const nextId = () => `task-${++counter}`;

describe('provider task-detail endpoint', () => {
  const detail = (taskId: string, key = 'sim-key') =>
    request(`${media.origin}/api/v1/runway/record-detail?taskId=${taskId}`, {
      headers: { authorization: `Bearer ${key}` },
    });

  it('refuses a wrong key with 401', async () => {
    const response = await detail('t', 'wrong');
    expect(response.statusCode).toBe(401);
    await response.body.dump();
  });

  it('reports success with videoInfo, and expireFlag once the media expired', async () => {
    const id = nextId();
    media.tasks.put({
      taskId: id,
      state: 'success',
      videoId: 'vid-1',
      videoUrl: media.url(id, 'video'),
      imageUrl: media.url(id, 'cover'),
    });
    const body = (await (await detail(id)).body.json()) as { code: number; data: Record<string, unknown> };
    expect(body.code).toBe(200);
    expect(body.data).toMatchObject({
      taskId: id,
      state: 'success',
      videoInfo: { videoId: 'vid-1', taskId: id, videoUrl: media.url(id, 'video') },
      failCode: '',
      expireFlag: 0,
    });
    media.expire(id);
    expect(((await (await detail(id)).body.json()) as { data: { expireFlag: number } }).data.expireFlag).toBe(1);
  });

  it('reports generating and failed tasks, and unknown ones', async () => {
    media.tasks.put({ taskId: 'gen-1', state: 'generating' });
    media.tasks.put({
      taskId: 'fail-1',
      state: 'fail',
      failCode: 400,
      failMsg: 'Your prompt was caught by our AI moderator.',
    });
    const generating = (await (await detail('gen-1')).body.json()) as { data: Record<string, unknown> };
    expect(generating.data).toMatchObject({ state: 'generating', videoInfo: null, failCode: '' });
    const failed = (await (await detail('fail-1')).body.json()) as { data: Record<string, unknown> };
    expect(failed.data).toMatchObject({ state: 'fail', failCode: 400, failMsg: expect.stringContaining('moderator') });
    const unknown = (await (await detail('nope')).body.json()) as { code: number; data: unknown };
    expect(unknown).toMatchObject({ code: 404, data: null });
  });

  it('answers in the shape of fixtures/record-detail.json', () => {
    const fixture = loadRecordDetailFixtures().find((f) => f.name === 'poll_success')?.body as {
      data: Record<string, unknown>;
    };
    const ours = recordDetailBody({ taskId: 't', state: 'success', videoId: 'v' }, false) as {
      data: Record<string, unknown>;
    };
    expect(Object.keys(ours).sort()).toEqual(Object.keys(fixture).sort());
    expect(Object.keys(ours.data).sort()).toEqual(Object.keys(fixture.data).sort());
  });
});
