import { loadRecordDetailFixtures } from '@runway-relay/testkit';
import { describe, expect, it } from 'vitest';
import { AlephDetailSchema, EnvelopeSchema, RunwayDetailSchema, type TaskDetail } from './answers.schema.js';

function dataOf(file: 'record-detail.json' | 'aleph-record-info.json', name: string): unknown {
  const fixture = loadRecordDetailFixtures(file).find((f) => f.name === name);
  if (!fixture) throw new Error(`no fixture ${name}`);
  return EnvelopeSchema.parse(fixture.body).data;
}

const runway = (name: string): TaskDetail => RunwayDetailSchema.parse(dataOf('record-detail.json', name));
const aleph = (name: string): TaskDetail => AlephDetailSchema.parse(dataOf('aleph-record-info.json', name));

describe('record-detail answers, normalised', () => {
  it('covers every fixture of both files', () => {
    const names = [
      ...loadRecordDetailFixtures('record-detail.json').map((f) => f.name),
      ...loadRecordDetailFixtures('aleph-record-info.json').map((f) => f.name),
    ];
    expect(names.sort()).toEqual(
      [
        'aleph_poll_fail',
        'aleph_poll_generating',
        'aleph_poll_success',
        'poll_expired',
        'poll_fail',
        'poll_generating',
        'poll_success',
      ].sort(),
    );
  });

  it('poll_success: the video, and no failure even though failCode says 400', () => {
    expect(runway('poll_success')).toEqual({
      model: 'runway',
      taskId: 'ee603959-debb-48d1-98c4-a6d1c717eba6',
      state: 'success',
      video: {
        videoId: '485da89c-7fca-4340-8c04-101025b2ae71',
        videoUrl: 'https://file.com/k/xxxxxxx.mp4',
        imageUrl: 'https://file.com/m/xxxxxxxx.png',
      },
      failCode: 400,
      failMsg: '',
      expired: false,
    });
  });

  it('poll_generating: no video, failCode "" read as none', () => {
    expect(runway('poll_generating')).toMatchObject({ state: 'generating', video: null, failCode: null });
  });

  it('poll_fail: the code and message', () => {
    expect(runway('poll_fail')).toMatchObject({
      state: 'fail',
      video: null,
      failCode: 400,
      failMsg: 'Your prompt was caught by our AI moderator.',
    });
  });

  it('poll_expired: expired', () => {
    expect(runway('poll_expired')).toMatchObject({ state: 'success', expired: true });
  });

  it('the Aleph model: successFlag mapped onto the same states', () => {
    expect(aleph('aleph_poll_success')).toEqual({
      model: 'aleph',
      taskId: '3f0c8f0e-aleph-task',
      state: 'success',
      video: { videoId: null, videoUrl: 'https://file.com/k/aleph.mp4', imageUrl: 'https://file.com/m/aleph.png' },
      failCode: null,
      failMsg: '',
      expired: false,
    });
    expect(aleph('aleph_poll_generating')).toMatchObject({ state: 'generating', video: null, failCode: null });
    expect(aleph('aleph_poll_fail')).toMatchObject({ state: 'fail', failCode: 400, failMsg: /AI moderator/ });
  });

  it('refuses a success without a video URL, a bad state, a bad task id and a non-http link', () => {
    const base = { taskId: 't-1', state: 'success', failCode: '', failMsg: '', expireFlag: 0 };
    expect(RunwayDetailSchema.safeParse({ ...base, videoInfo: null }).success).toBe(false);
    expect(RunwayDetailSchema.safeParse({ ...base, state: 'done', videoInfo: null }).success).toBe(false);
    expect(RunwayDetailSchema.safeParse({ ...base, taskId: '../x', videoInfo: null }).success).toBe(false);
    const javascript = { videoId: 'v', videoUrl: 'javascript:alert(1)', imageUrl: '' };
    expect(RunwayDetailSchema.safeParse({ ...base, videoInfo: javascript }).success).toBe(false);
    expect(RunwayDetailSchema.parse({ ...base, failCode: '500', state: 'fail', videoInfo: null }).failCode).toBe(500);
  });
});
