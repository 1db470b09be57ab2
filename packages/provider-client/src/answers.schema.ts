import { TaskIdSchema } from '@runway-relay/contracts';
import { z } from 'zod';

/** Every answer of the provider's API: `code` 200 means success whatever the HTTP status said. */
export const EnvelopeSchema = z.looseObject({
  code: z.number().int(),
  msg: z.string().nullish(),
  data: z.unknown(),
});

/** `data` of a generate / extend answer. */
export const CreatedTaskSchema = z.looseObject({ taskId: TaskIdSchema });
export type CreatedTask = { taskId: string };

/** Task states of the task-detail endpoint (the Aleph model's flags are mapped onto them). */
export const ProviderTaskStateSchema = z.enum(['wait', 'queueing', 'generating', 'success', 'fail']);
export type ProviderTaskState = z.infer<typeof ProviderTaskStateSchema>;

/** Which model a task belongs to; each has its own task-detail endpoint. */
export type TaskModel = 'runway' | 'aleph';

/**
 * One task as the relay sees it, whichever endpoint described it. `video` is set exactly when
 * `state` is `success`; `failCode` / `failMsg` only mean something when it is `fail`.
 */
export interface TaskDetail {
  model: TaskModel;
  taskId: string;
  state: ProviderTaskState;
  video: { videoId: string | null; videoUrl: string; imageUrl: string | null } | null;
  /** The provider's failure code; null when it sent none (`""`, null, missing). */
  failCode: number | null;
  failMsg: string;
  /** The provider deleted the media (14 days after generation): the links are dead. */
  expired: boolean;
}

/** `""`, null and missing all mean "no code"; a numeric string is read as its number. */
const LooseCode = z
  .union([z.number(), z.string(), z.null()])
  .optional()
  .transform((value) => {
    if (typeof value === 'number') return Number.isInteger(value) ? value : null;
    if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value.trim());
    return null;
  });

const LooseText = z
  .string()
  .nullish()
  .transform((value) => value?.trim() || null);

const MediaUrl = z
  .string()
  .nullish()
  .transform((value, ctx) => {
    const text = value?.trim() ?? '';
    if (text === '') return null;
    if (!/^https?:\/\//i.test(text) || !URL.canParse(text)) {
      ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
      return z.NEVER;
    }
    return text;
  });

/** A nested object the provider may send as null or leave out: null then. */
const objectOrNull = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z
    .looseObject(shape)
    .nullish()
    .transform((value) => value ?? null);

/** 1: the provider deleted the media; sent as a number or a string, or not at all. */
const ExpireFlag = z
  .union([z.number(), z.string()])
  .nullish()
  .transform((flag) => Number(flag) === 1);

function successVideo(videoUrl: string | null, imageUrl: string | null, videoId: string | null, ctx: z.RefinementCtx) {
  if (videoUrl === null) {
    ctx.addIssue({ code: 'custom', path: ['videoUrl'], message: 'is required when the task succeeded' });
    return z.NEVER;
  }
  return { videoId, videoUrl, imageUrl };
}

/** `data` of `GET /api/v1/runway/record-detail` (generated and extended videos). */
export const RunwayDetailSchema = z
  .looseObject({
    taskId: TaskIdSchema,
    state: ProviderTaskStateSchema,
    videoInfo: objectOrNull({ videoId: LooseText, videoUrl: MediaUrl, imageUrl: MediaUrl }),
    failCode: LooseCode,
    failMsg: z.string().nullish(),
    expireFlag: ExpireFlag,
  })
  .transform((data, ctx): TaskDetail => {
    const info = data.videoInfo;
    const video =
      data.state === 'success'
        ? successVideo(info?.videoUrl ?? null, info?.imageUrl ?? null, info?.videoId ?? null, ctx)
        : null;
    return {
      model: 'runway',
      taskId: data.taskId,
      state: data.state,
      video,
      failCode: data.failCode,
      failMsg: data.failMsg ?? '',
      expired: data.expireFlag,
    };
  });

/**
 * `data` of `GET /api/v1/aleph/record-info`: `successFlag` 0 while generating, 1 on success,
 * anything else a failure (the provider documents 2 and 3 for creation and generation failures).
 */
export const AlephDetailSchema = z
  .looseObject({
    taskId: TaskIdSchema,
    successFlag: z.coerce.number().int(),
    response: objectOrNull({ resultVideoUrl: MediaUrl, resultImageUrl: MediaUrl }),
    errorCode: LooseCode,
    errorMessage: z.string().nullish(),
    expireFlag: ExpireFlag,
  })
  .transform((data, ctx): TaskDetail => {
    const state: ProviderTaskState =
      data.successFlag === 0 ? 'generating' : data.successFlag === 1 ? 'success' : 'fail';
    const response = data.response;
    const video =
      state === 'success'
        ? successVideo(response?.resultVideoUrl ?? null, response?.resultImageUrl ?? null, null, ctx)
        : null;
    return {
      model: 'aleph',
      taskId: data.taskId,
      state,
      video,
      failCode: data.errorCode === 0 ? null : data.errorCode,
      failMsg: data.errorMessage ?? '',
      expired: data.expireFlag,
    };
  });

/** The task-detail schema of a model. */
export function detailSchemaOf(model: TaskModel) {
  return model === 'aleph' ? AlephDetailSchema : RunwayDetailSchema;
}
