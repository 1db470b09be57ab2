import { randomUUID } from 'node:crypto';
import { classifyProviderFailure } from '@runway-relay/contracts';
import { buildCallback, type CallbackBody, failureFixtures } from './callbacks.js';
import type { MediaServer } from './media-server.js';
import { type DeliveryResult, sendCallback } from './sender.js';

/** Options of {@link runScenario}. */
export interface ScenarioOptions {
  /** The receiver's callback URL (e.g. `http://127.0.0.1:3000/callbacks/runway`). */
  ingressUrl: string;
  /** Signs callbacks when set. */
  hmacKey?: string;
  /** Serves the success tasks' media and learns about every task (for the polling endpoint). */
  media: MediaServer;
  /** Number of tasks. */
  tasks: number;
  /** Share of tasks that fail (0..1); each uses the next failure fixture in turn. */
  failureRatio: number;
  /** Share of tasks whose callback is delivered twice (0..1); every other one concurrently. */
  duplicateRatio: number;
  /** Deliveries in flight at once. Default 4. */
  concurrency?: number;
  /** Passed to the sender; default the sender's (1, 5, 15 s). */
  retryDelaysMs?: number[];
  /** Per-attempt timeout (ms). Default 15000. */
  timeoutMs?: number;
  /** Retries per delivery. Default 3. */
  retries?: number;
  /** Size of each video in bytes. Default 256 KiB. */
  videoSize?: number;
  /**
   * The `code` and/or `msg` every failure callback carries instead of its fixture's (e.g. one of
   * the provider's Chinese messages); the expected category is then the classifier's answer.
   */
  failure?: FailureOverride;
  /** Source of randomness for which tasks fail or repeat. Default `Math.random`. */
  random?: () => number;
}

/** A chosen provider `code` / `msg` for the failure callbacks of a scenario. */
export interface FailureOverride {
  code?: number;
  msg?: string;
}

/** What a scenario sent and what the receiver should end up with. */
export interface ScenarioSummary {
  /** HTTP deliveries started (a duplicated task counts twice). */
  sent: number;
  /** Deliveries acknowledged with 200. */
  acked: number;
  /** Deliveries that were second copies. */
  duplicates: number;
  /** Deliveries never acknowledged after all retries. */
  failedDeliveries: number;
  /** Tasks none of whose deliveries was acknowledged (the receiver may never have seen them). */
  unackedTaskIds: string[];
  /** HTTP attempts in total, retries included. */
  attempts: number;
  durationMs: number;
  taskIds: string[];
  expected: {
    /** Tasks whose video and cover should be stored. */
    success: string[];
    /** Failed tasks and the category the classifier should give them. */
    failure: Record<string, string>;
  };
}

interface PlannedTask {
  taskId: string;
  body: CallbackBody;
  /** 0 = once, 1 = twice concurrently, 2 = twice one after the other. */
  repeat: 0 | 1 | 2;
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function plan(options: ScenarioOptions, expected: ScenarioSummary['expected']): PlannedTask[] {
  const random = options.random ?? Math.random;
  const ids = Array.from({ length: options.tasks }, () => randomUUID());
  const failing = new Set(shuffled(ids, random).slice(0, Math.round(options.tasks * options.failureRatio)));
  const repeated = shuffled(ids, random).slice(0, Math.round(options.tasks * options.duplicateRatio));
  const fixtures = failureFixtures();
  let failureIndex = 0;
  return ids.map((taskId) => {
    const position = repeated.indexOf(taskId);
    const repeat = position < 0 ? 0 : position % 2 === 0 ? 1 : 2;
    if (failing.has(taskId) && fixtures.length > 0) {
      const fixture = fixtures[failureIndex++ % fixtures.length] as (typeof fixtures)[number];
      // A chosen code/msg goes into the provider's documented shape, not into an odd variant.
      const body = buildCallback('failure', taskId, {}, options.failure ? undefined : fixture.name);
      if (options.failure?.code !== undefined) body.code = options.failure.code;
      if (options.failure?.msg !== undefined) body.msg = options.failure.msg;
      const code = typeof body.code === 'number' ? body.code : 400;
      const msg = typeof body.msg === 'string' ? body.msg : '';
      expected.failure[taskId] =
        options.failure === undefined ? fixture.category : classifyProviderFailure(code, msg).category;
      options.media.tasks.put({ taskId, state: 'fail', failCode: code, failMsg: msg });
      return { taskId, body, repeat };
    }
    const video = options.media.url(taskId, 'video', options.videoSize ? { size: options.videoSize } : {});
    const image = options.media.url(taskId, 'cover');
    const videoId = randomUUID();
    expected.success.push(taskId);
    options.media.tasks.put({ taskId, state: 'success', videoId, videoUrl: video, imageUrl: image });
    return { taskId, body: buildCallback('success', taskId, { video, image, videoId }), repeat };
  });
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}

/**
 * Drives a receiver like the provider would: creates `tasks` tasks, posts a success callback
 * (media on the simulator) or a failure fixture for each, some twice, and reports what was
 * acknowledged and what the receiver should end up with.
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioSummary> {
  const started = Date.now();
  const expected: ScenarioSummary['expected'] = { success: [], failure: {} };
  const planned = plan(options, expected);
  const send = (body: CallbackBody, duplicates = 0) =>
    sendCallback({
      url: options.ingressUrl,
      body,
      duplicates,
      ...(options.hmacKey !== undefined && { hmacKey: options.hmacKey }),
      ...(options.retryDelaysMs !== undefined && { retryDelaysMs: options.retryDelaysMs }),
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
      ...(options.retries !== undefined && { retries: options.retries }),
    });
  const results = await pool(planned, options.concurrency ?? 4, async (task): Promise<DeliveryResult[]> => {
    if (task.repeat === 1) return [await send(task.body, 1)];
    const first = await send(task.body);
    return task.repeat === 2 ? [first, await send(task.body)] : [first];
  });
  const copies = results.flat().flatMap((result) => result.copies);
  const duplicates = planned.filter((task) => task.repeat !== 0).length;
  return {
    sent: copies.length,
    acked: copies.filter(Boolean).length,
    duplicates,
    failedDeliveries: copies.filter((acked) => !acked).length,
    unackedTaskIds: planned
      .filter((_, index) => !(results[index] ?? []).some((result) => result.delivered))
      .map((task) => task.taskId),
    attempts: results.flat().reduce((total, result) => total + result.attempts.length, 0),
    durationMs: Date.now() - started,
    taskIds: planned.map((task) => task.taskId),
    expected,
  };
}
