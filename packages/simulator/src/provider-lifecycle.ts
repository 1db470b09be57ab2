import { randomUUID } from 'node:crypto';
import { buildCallback, type CallbackBody, callbackFixture, failureFixtures } from './callbacks.js';
import type { MediaKind } from './media.js';
import type { SimulatedTask, SimulatedTaskBook } from './provider-api.js';
import { type DeliveryResult, sendCallback } from './sender.js';

/** How generated tasks behave; every duration is compressible for tests. */
export interface ProviderSimOptions {
  /** ms a task spends in `wait`, `queueing` and `generating`. Default 1000 / 2000 / 10000. */
  stateMs?: { wait?: number; queueing?: number; generating?: number };
  /** Share of tasks (0..1) that fail, each with the next failure fixture in turn. Default 0. */
  failureRatio?: number;
  /** Failure fixtures to use (names of callbacks.json); default every failure fixture. */
  failureFixtures?: string[];
  /** ms after a task succeeded when its links expire (expireFlag 1, the CDN answers 403). Default 14 days. */
  linkExpiryMs?: number;
  /** Requests per second the API accepts (over a sliding second); more get code 429. Default 0: no limit. */
  rateLimitPerSecond?: number;
  /** Randomness for which tasks fail. Default `Math.random`. */
  random?: () => number;
  /** Delivery of the finished tasks' callbacks to their `callBackUrl`. */
  callbacks?: {
    /** Send none (lost callbacks); can be switched later. Default false. */
    suppress?: boolean;
    /** Extra concurrent copies of each delivery. Default 0. */
    duplicates?: number;
    /** Default 3 (the provider's). */
    retries?: number;
    /** Default the sender's 1, 5, 15 s (the provider waits minutes). */
    retryDelaysMs?: number[];
    /** Default 15000 (the provider's). */
    timeoutMs?: number;
    /** Sign callbacks with this key (the provider's scheme). */
    hmacKey?: string;
  };
}

/** A task the API accepted: where its callback goes and which model made it. */
export interface StartedTask {
  taskId: string;
  model: 'runway' | 'aleph';
  prompt: string;
  callBackUrl?: string;
}

/** Runs generated tasks through wait → queueing → generating → success | fail. */
export interface TaskLifecycle {
  start(task: StartedTask): void;
  /** Every callback delivery made so far, in order of completion. */
  deliveries(): DeliveryResult[];
  setSuppressCallbacks(suppress: boolean): void;
  /** Resolves when no callback delivery is in flight. */
  settled(): Promise<void>;
  /** Cancels every pending step (tasks stay where they are). */
  close(): void;
}

export interface LifecycleDeps {
  store: SimulatedTaskBook;
  /** Media URL of a task (the simulator's CDN). */
  mediaUrl: (id: string, kind: MediaKind) => string;
  /** Makes the CDN refuse a task's media, as an expired signed link. */
  expireMedia: (id: string) => void;
}

const DAY_MS = 86_400_000;

function failureBody(task: StartedTask, fixtureName: string): CallbackBody {
  if (task.model === 'runway') return buildCallback('failure', task.taskId, {}, fixtureName);
  const { code, msg } = callbackFixture(fixtureName).body;
  return { ...buildCallback('failure', task.taskId, {}, 'aleph_failure'), code, msg };
}

/** Creates the lifecycle of generated tasks (timers; nothing runs after `close`). */
export function createTaskLifecycle(deps: LifecycleDeps, options: ProviderSimOptions = {}): TaskLifecycle {
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  const done: DeliveryResult[] = [];
  const random = options.random ?? Math.random;
  const failures = options.failureFixtures ?? failureFixtures().map((f) => f.name);
  let failureIndex = 0;
  let suppress = options.callbacks?.suppress ?? false;
  let closed = false;

  const later = (ms: number, step: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) step();
    }, ms);
    timers.add(timer);
  };

  const deliver = (task: StartedTask, body: CallbackBody) => {
    if (!task.callBackUrl || suppress) return;
    const settings = options.callbacks ?? {};
    const delivery = sendCallback({
      url: task.callBackUrl,
      body,
      ...(settings.duplicates !== undefined && { duplicates: settings.duplicates }),
      ...(settings.retries !== undefined && { retries: settings.retries }),
      ...(settings.retryDelaysMs !== undefined && { retryDelaysMs: settings.retryDelaysMs }),
      ...(settings.timeoutMs !== undefined && { timeoutMs: settings.timeoutMs }),
      ...(settings.hmacKey !== undefined && { hmacKey: settings.hmacKey }),
    }).then((result) => {
      done.push(result);
    });
    inFlight.add(delivery);
    void delivery.finally(() => inFlight.delete(delivery));
  };

  const finish = (task: StartedTask) => {
    const fails = failures.length > 0 && random() < (options.failureRatio ?? 0);
    if (fails) {
      const fixtureName = failures[failureIndex++ % failures.length] as string;
      const body = failureBody(task, fixtureName);
      const failCode = typeof body.code === 'number' ? body.code : 400;
      const failMsg = typeof body.msg === 'string' ? body.msg : '';
      deps.store.update(task.taskId, { state: 'fail', failCode, failMsg, generatedAt: new Date() });
      deliver(task, body);
      return;
    }
    const media: Partial<SimulatedTask> = {
      state: 'success',
      videoId: task.model === 'runway' ? randomUUID() : '',
      videoUrl: deps.mediaUrl(task.taskId, 'video'),
      imageUrl: deps.mediaUrl(task.taskId, 'cover'),
      generatedAt: new Date(),
    };
    deps.store.update(task.taskId, media);
    const links = { video: media.videoUrl, image: media.imageUrl, videoId: media.videoId };
    deliver(
      task,
      task.model === 'runway'
        ? buildCallback('success', task.taskId, links)
        : buildCallback('success', task.taskId, links, 'aleph_success'),
    );
    later(options.linkExpiryMs ?? 14 * DAY_MS, () => deps.expireMedia(task.taskId));
  };

  return {
    start: (task) => {
      const ms = { wait: 1000, queueing: 2000, generating: 10_000, ...options.stateMs };
      deps.store.put({ taskId: task.taskId, model: task.model, prompt: task.prompt, state: 'wait' });
      later(ms.wait, () => {
        deps.store.update(task.taskId, { state: 'queueing' });
        later(ms.queueing, () => {
          deps.store.update(task.taskId, { state: 'generating' });
          later(ms.generating, () => finish(task));
        });
      });
    },
    deliveries: () => [...done],
    setSuppressCallbacks: (value) => {
      suppress = value;
    },
    settled: async () => {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    close: () => {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
