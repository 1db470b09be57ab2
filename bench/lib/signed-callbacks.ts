import { expectedProviderSignature } from '@runway-relay/ingress';

/** The provider key the spawned ingress is configured with (CALLBACK_HMAC_KEYS). */
export const BENCH_HMAC_KEY = 'bench-key-0123456789abcdef0123';

/** Where the load goes, on the ingress and on the baseline alike. */
export const CALLBACK_PATH = '/callbacks/runway';

/** A success callback as in docs/architecture.md §2 (about 300 bytes); `media` points it at real files. */
export function successBody(taskId: string, media?: { video: string; image: string }): string {
  return JSON.stringify({
    code: 200,
    msg: 'All generated successfully.',
    data: {
      task_id: taskId,
      video_id: `v-${taskId}`,
      video_url: media?.video ?? `https://file.example.com/k/${taskId}.mp4`,
      image_url: media?.image ?? `https://file.example.com/m/${taskId}.png`,
    },
  });
}

/** A provider failure callback (code 500): a failure job, nothing to download. */
export function failureBody(taskId: string): string {
  return JSON.stringify({
    code: 500,
    msg: 'Upload failed due to network reasons.',
    data: { task_id: taskId, video_id: '', video_url: '', image_url: '' },
  });
}

/** Headers of a correctly signed delivery of `taskId`, timestamped now. */
export function signedHeaders(taskId: string, nowS = Math.floor(Date.now() / 1000)): Record<string, string> {
  const timestamp = String(nowS);
  return {
    'content-type': 'application/json',
    'x-webhook-timestamp': timestamp,
    'x-webhook-signature': expectedProviderSignature(BENCH_HMAC_KEY, taskId, timestamp),
  };
}

/** A signed request body and its headers. */
export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

/**
 * Returns a generator of signed success callbacks, each for a NEW task: duplicates take a
 * cheaper path through the ingress, so a throughput figure must not contain any.
 */
export function freshTasks(tag: string): () => SignedRequest {
  let next = 0;
  return () => {
    const taskId = `${tag}-${(next++).toString(36)}`;
    return { body: successBody(taskId), headers: signedHeaders(taskId) };
  };
}
