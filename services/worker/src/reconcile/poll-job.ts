import { type Callback, type CallbackJob, CallbackJobSchema, RawCallbackSchema } from '@runway-relay/contracts';
import type { TaskDetail } from '@runway-relay/provider-client';

/** The task-detail path each model is polled on, recorded as the job's receipt path. */
const DETAIL_PATH = { runway: '/api/v1/runway/record-detail', aleph: '/api/v1/aleph/record-info' } as const;

/**
 * The job a success callback for this task would have made, built from a poll of the
 * provider's API: the same body goes through the same callback schema, so the normalised
 * callback (and with it the dedupe fingerprint) is identical to the one the real callback
 * gives. A callback that arrives later is then a duplicate, not a conflict.
 */
export function jobFromPoll(detail: TaskDetail, nowMs: number): CallbackJob {
  if (detail.state !== 'success' || detail.video === null) {
    throw new Error(`task ${detail.taskId} has no video to fetch (state ${detail.state})`);
  }
  const callback = RawCallbackSchema.parse({
    code: 200,
    msg: 'success',
    data: {
      task_id: detail.taskId,
      video_id: detail.video.videoId,
      video_url: detail.video.videoUrl,
      image_url: detail.video.imageUrl,
    },
  });
  return providerApiJob(detail, callback, nowMs, 'poll');
}

/**
 * A job made from an answer of the provider's API (`source: poll`), not from a callback: the
 * receipt names the task-detail path it came from and `provider_api` as its authentication.
 * `purpose` tells polls and verifications apart in the request id.
 */
export function providerApiJob(
  detail: Pick<TaskDetail, 'taskId' | 'model'>,
  callback: Callback,
  nowMs: number,
  purpose: 'poll' | 'verify',
): CallbackJob {
  return CallbackJobSchema.parse({
    v: 1,
    source: 'poll',
    callback,
    receipt: {
      received_at: new Date(nowMs).toISOString(),
      request_id: `${purpose}-${detail.taskId}-${nowMs}`,
      source_ip: '',
      auth: ['provider_api'],
      path: DETAIL_PATH[detail.model],
    },
    extra: {},
  });
}
