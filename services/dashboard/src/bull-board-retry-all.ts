import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { type FinishedState, reprocessAll } from './bulk-reprocess.js';
import { BULL_BOARD_PATH } from './bull-board.js';
import { operatorOf } from './operator.js';
import type { TaskAdmin } from './task-admin.js';

/** Bull Board's "Retry all" call: `PUT <base>/api/queues/<queue>/retry/<state>`. */
const RETRY_ALL = new RegExp(`^${BULL_BOARD_PATH}/api/queues/([^/]+)/retry/([^/]+)$`);

function finishedState(text: string): FinishedState | undefined {
  return text === 'completed' || text === 'failed' ? text : undefined;
}

function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

export interface BullBoardRetryAllDeps {
  tasks: TaskAdmin;
  /** The callbacks queue; Bull Board names it by its BullMQ name (mountBullBoard sets no prefix). */
  queue: Queue;
  /** `DASHBOARD_RETRY_ALL_MAX`. */
  maxJobs: number;
}

/**
 * Answers Bull Board's "Retry all" of completed or failed jobs on the callbacks queue itself,
 * instead of Bull Board's handler, which moves every job without touching the task records (a
 * retried completed job would find its task `stored` and do nothing, unaudited). Each job goes
 * through the per-task re-process (see {@link reprocessAll}), at most `maxJobs` per request,
 * and the answer has Bull Board's shape (`retried`, `skipped`), so its UI works as before. As a
 * `preHandler` it runs after the same-origin guard and basic auth. Other queues (`deliveries`)
 * and other states stay Bull Board's.
 */
export function registerBullBoardRetryAll(app: FastifyInstance, deps: BullBoardRetryAllDeps): void {
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'PUT') return;
    const match = RETRY_ALL.exec(request.url.split('?')[0] ?? '');
    if (!match?.[1] || !match[2] || decoded(match[1]) !== deps.queue.name) return;
    const state = finishedState(decoded(match[2]) ?? '');
    if (state === undefined) return;
    const operator = operatorOf(request);
    const result = await reprocessAll(deps, state, { operator, via: 'bull_board' });
    request.log.info(
      { operator, via: 'bull_board', queue: deps.queue.name, state, ...result },
      'Bull Board retry all: task records prepared',
    );
    return reply.code(200).send(result);
  });
}
