import type { Callback } from '@runway-relay/contracts';
import type { TaskDetail } from '@runway-relay/provider-client';
import { describe, expect, it } from 'vitest';
import { compareWithDetail, normaliseUrl } from './verify-callback.js';

const success = (video: string, cover: string | null): Callback => ({
  task_id: 't-1',
  outcome: 'success',
  code: 200,
  msg: '',
  video_id: 'v-1',
  video_url: video,
  image_url: cover,
  callback_type: null,
});
const detail = (video: string | null, cover: string | null = null): TaskDetail => ({
  model: 'runway',
  taskId: 't-1',
  state: video === null ? 'fail' : 'success',
  video: video === null ? null : { videoId: 'v-1', videoUrl: video, imageUrl: cover },
  failCode: video === null ? 400 : null,
  failMsg: '',
  expired: false,
});

describe('compareWithDetail', () => {
  it('agrees on URLs that differ only in form (host case, default port, parameter order), using the API URLs', () => {
    const api = 'https://cdn.example.com/k/a.mp4?b=2&a=1';
    const result = compareWithDetail(success('https://CDN.example.com:443/k/./a.mp4?a=1&b=2', null), detail(api));
    expect(result).toMatchObject({ kind: 'agree', urls: { video: api, cover: null } });
    expect(normaliseUrl('HTTPS://X.example/a#frag')).toBe('https://x.example/a');
  });

  it('names what differs, redacted: another host, another path, a query alone, a missing cover', () => {
    const result = compareWithDetail(
      success('https://evil.example/k/a.mp4?sig=SECRET', 'https://cdn.example.com/m/a.png?sig=1'),
      detail('https://cdn.example.com/k/a.mp4?sig=OTHER', 'https://cdn.example.com/m/a.png?sig=2'),
    );
    expect(result.kind).toBe('disagree');
    const differences = result.kind === 'disagree' ? result.differences : [];
    expect(differences).toEqual([
      {
        field: 'video_url',
        callback: 'https://evil.example/k/a.mp4',
        provider: 'https://cdn.example.com/k/a.mp4',
        differs_in: 'origin',
      },
      {
        field: 'image_url',
        callback: 'https://cdn.example.com/m/a.png',
        provider: 'https://cdn.example.com/m/a.png',
        differs_in: 'query',
      },
    ]);
    expect(JSON.stringify(differences)).not.toContain('SECRET');
    const noCover = compareWithDetail(
      success('https://c.example/a.mp4', null),
      detail('https://c.example/a.mp4', 'https://c.example/a.png'),
    );
    expect(noCover).toMatchObject({ kind: 'disagree', differences: [{ field: 'image_url', differs_in: 'presence' }] });
  });

  it('another outcome: a success the API says failed, and a failure the API says succeeded', () => {
    expect(compareWithDetail(success('https://c.example/a.mp4', null), detail(null))).toMatchObject({
      kind: 'disagree',
      differences: [{ field: 'outcome', callback: 'success', provider: 'failure' }],
    });
    const failure: Callback = {
      ...success('https://c.example/a.mp4', null),
      outcome: 'failure',
      code: 400,
      video_url: null,
    };
    expect(compareWithDetail(failure, detail('https://c.example/a.mp4'))).toMatchObject({ kind: 'disagree' });
    expect(compareWithDetail(failure, detail(null))).toEqual({ kind: 'agree', detail: detail(null), urls: null });
  });
});
