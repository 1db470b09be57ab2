import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';

/** Task states of the provider's task-detail endpoint. */
export const TaskStateSchema = z.enum(['wait', 'queueing', 'generating', 'success', 'fail']);
export type TaskState = z.infer<typeof TaskStateSchema>;

/** What the simulator knows about one task, as its polling endpoint reports it. */
export interface SimulatedTask {
  taskId: string;
  state: TaskState;
  /** Media id: the simulator serves `/media/<mediaId>/…` (default: the task id). */
  mediaId?: string;
  videoId?: string;
  videoUrl?: string;
  imageUrl?: string;
  /** Failure code (the provider sends an integer or ""). */
  failCode?: number | '';
  failMsg?: string;
  /** 1 once the links expired; derived from the media server when not set. */
  expireFlag?: 0 | 1;
  prompt?: string;
  /** When generation finished (default: registration time). */
  generatedAt?: Date;
}

/** The tasks the simulator answers about. */
export interface SimulatedTaskBook {
  /** Adds or replaces a task. */
  put(task: SimulatedTask): void;
  /** Changes fields of a known task (throws for an unknown one). */
  update(taskId: string, patch: Partial<Omit<SimulatedTask, 'taskId'>>): void;
  get(taskId: string): SimulatedTask | undefined;
  list(): SimulatedTask[];
}

/** Creates an in-memory {@link SimulatedTaskBook}. */
export function createSimulatedTaskBook(): SimulatedTaskBook {
  const tasks = new Map<string, SimulatedTask>();
  return {
    put: (task) => {
      tasks.set(task.taskId, { generatedAt: new Date(), ...task });
    },
    update: (taskId, patch) => {
      const task = tasks.get(taskId);
      if (!task) throw new Error(`unknown task ${taskId}`);
      tasks.set(taskId, { ...task, ...patch });
    },
    get: (taskId) => tasks.get(taskId),
    list: () => [...tasks.values()],
  };
}

/** `2023-08-15 14:30:45`, the provider's time format (UTC here). */
function providerTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** The answer body for one task, shaped like fixtures/record-detail.json. */
export function recordDetailBody(task: SimulatedTask, expired: boolean): Record<string, unknown> {
  const success = task.state === 'success';
  return {
    code: 200,
    msg: 'success',
    data: {
      taskId: task.taskId,
      parentTaskId: '',
      generateParam: { prompt: task.prompt ?? 'a cat', imageUrl: '', expandPrompt: true },
      state: task.state,
      generateTime: providerTime(task.generatedAt ?? new Date()),
      videoInfo: success
        ? {
            videoId: task.videoId ?? '',
            taskId: task.taskId,
            videoUrl: task.videoUrl ?? '',
            imageUrl: task.imageUrl ?? '',
          }
        : null,
      failCode: task.failCode ?? (task.state === 'fail' ? 400 : ''),
      failMsg: task.failMsg ?? '',
      expireFlag: task.expireFlag ?? (expired ? 1 : 0),
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': text.length });
  res.end(text);
}

function bearerMatches(header: string | undefined, apiKey: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1].trim());
  const expected = Buffer.from(apiKey);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `GET /api/v1/runway/record-detail?taskId=…` with `Authorization: Bearer <apiKey>`: 401 with
 * a wrong key; for an unknown task the provider-style envelope `{code: 404, data: null}`.
 */
export function handleRecordDetail(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: { store: SimulatedTaskBook; apiKey: string; isExpired: (mediaId: string) => boolean },
): void {
  if (!bearerMatches(req.headers.authorization, options.apiKey)) {
    sendJson(res, 401, { code: 401, msg: 'Unauthorized: invalid API key', data: null });
    return;
  }
  const taskId = url.searchParams.get('taskId');
  if (!taskId) {
    sendJson(res, 400, { code: 400, msg: 'taskId is required', data: null });
    return;
  }
  const task = options.store.get(taskId);
  if (!task) {
    sendJson(res, 200, { code: 404, msg: 'Task not found', data: null });
    return;
  }
  sendJson(res, 200, recordDetailBody(task, options.isExpired(task.mediaId ?? task.taskId)));
}
