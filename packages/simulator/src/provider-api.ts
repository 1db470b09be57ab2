import { z } from 'zod';

/** Task states of the provider's task-detail endpoint. */
export const TaskStateSchema = z.enum(['wait', 'queueing', 'generating', 'success', 'fail']);
export type TaskState = z.infer<typeof TaskStateSchema>;

/** What the simulator knows about one task, as its polling endpoint reports it. */
export interface SimulatedTask {
  taskId: string;
  state: TaskState;
  /** Which model made it: decides the shape of its callback. Default `runway`. */
  model?: 'runway' | 'aleph';
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

/** Aleph's `successFlag`: 0 while running, 1 on success, 3 when generation failed. */
function successFlag(state: TaskState): number {
  if (state === 'success') return 1;
  return state === 'fail' ? 3 : 0;
}

/** The answer body of `GET /api/v1/aleph/record-info`, shaped like the provider's documented example. */
export function alephRecordInfoBody(task: SimulatedTask, expired: boolean): Record<string, unknown> {
  const success = task.state === 'success';
  const finished = success || task.state === 'fail';
  return {
    code: 200,
    msg: 'success',
    data: {
      taskId: task.taskId,
      paramJson: JSON.stringify({ prompt: task.prompt ?? 'a cat' }),
      response: success
        ? { taskId: task.taskId, resultVideoUrl: task.videoUrl ?? '', resultImageUrl: task.imageUrl ?? '' }
        : null,
      completeTime: finished ? (task.generatedAt ?? new Date()).toISOString() : null,
      createTime: (task.generatedAt ?? new Date()).toISOString(),
      successFlag: successFlag(task.state),
      errorCode: task.state === 'fail' ? (task.failCode ?? 400) : null,
      errorMessage: task.state === 'fail' ? (task.failMsg ?? '') : null,
      expireFlag: task.expireFlag ?? (expired ? 1 : 0),
    },
  };
}
