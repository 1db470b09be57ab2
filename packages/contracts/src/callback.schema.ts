import { z } from 'zod';
import { TaskIdSchema } from './task-id.js';

/** Longest media URL we accept; signed CDN links are long but not this long. */
const MAX_URL_LENGTH = 4096;

/** An optional media URL: missing, null or "" all mean "none"; anything else must be an http(s) URL. */
const OptionalMediaUrl = z
  .string()
  .max(MAX_URL_LENGTH)
  .nullish()
  .transform((value, ctx) => {
    const trimmed = value?.trim() ?? '';
    if (trimmed === '') return null;
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      return z.NEVER;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
      return z.NEVER;
    }
    return url.toString();
  });

const OptionalText = z
  .string()
  .max(512)
  .nullish()
  .transform((v) => (v == null || v.trim() === '' ? null : v.trim()));

/** `data` of a generation callback: the classic shape and the Aleph shape share it. */
const CallbackDataSchema = z
  .looseObject({
    task_id: TaskIdSchema.optional(),
    video_id: OptionalText,
    video_url: OptionalMediaUrl,
    image_url: OptionalMediaUrl,
    result_video_url: OptionalMediaUrl,
    result_image_url: OptionalMediaUrl,
    callbackType: z.string().max(128).optional(),
  })
  .nullish();

/**
 * The callback body as the provider sends it (every documented variant), validated and
 * normalised into {@link Callback}. Unknown fields are kept (`looseObject`) so they can be
 * stored with the task; they are never a reason to reject.
 */
export const RawCallbackSchema = z
  .looseObject({
    code: z.number().int(),
    msg: z.string().max(4096).nullish(),
    taskId: TaskIdSchema.optional(),
    data: CallbackDataSchema,
  })
  .superRefine((body, ctx) => {
    const nested = body.data?.task_id;
    if (nested === undefined && body.taskId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['data', 'task_id'], message: 'is required (or top-level taskId)' });
    }
    if (nested !== undefined && body.taskId !== undefined && nested !== body.taskId) {
      ctx.addIssue({ code: 'custom', path: ['taskId'], message: 'differs from data.task_id' });
    }
    if (body.code === 200 && !(body.data?.video_url ?? body.data?.result_video_url)) {
      ctx.addIssue({ code: 'custom', path: ['data', 'video_url'], message: 'is required when code is 200' });
    }
  })
  .transform((body): Callback => {
    const data = body.data ?? null;
    const outcome = body.code === 200 ? 'success' : 'failure';
    return {
      task_id: (data?.task_id ?? body.taskId) as string,
      outcome,
      code: body.code,
      msg: body.msg ?? '',
      video_id: data?.video_id ?? null,
      video_url: data?.video_url ?? data?.result_video_url ?? null,
      image_url: data?.image_url ?? data?.result_image_url ?? null,
      callback_type: data?.callbackType ?? null,
    };
  });

/** The one internal shape of a callback, whatever variant the provider sent. */
export const CallbackSchema = z.object({
  task_id: TaskIdSchema,
  outcome: z.enum(['success', 'failure']),
  code: z.number().int(),
  msg: z.string(),
  video_id: z.string().nullable(),
  video_url: z.url({ protocol: /^https?$/ }).nullable(),
  image_url: z.url({ protocol: /^https?$/ }).nullable(),
  callback_type: z.string().nullable(),
});

export type Callback = z.infer<typeof CallbackSchema>;
export type CallbackOutcome = Callback['outcome'];

/**
 * Reads the task id from a parsed JSON body without validating the rest, because the
 * provider's signature covers `<task_id>.<timestamp>` and must be checked before the schema.
 */
export function peekTaskId(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const data = record.data;
  if (typeof data === 'object' && data !== null) {
    const nested = (data as Record<string, unknown>).task_id;
    if (typeof nested === 'string' && nested !== '') return nested;
  }
  return typeof record.taskId === 'string' && record.taskId !== '' ? record.taskId : undefined;
}

/** Turns zod issues into `{ path, message }` pairs that name the failing fields. */
export function describeIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)',
    message: issue.message,
  }));
}
