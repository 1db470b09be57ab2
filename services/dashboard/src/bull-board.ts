import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

/** Where Bull Board is served (docs/architecture.md §8: internal listener, behind basic auth). */
export const BULL_BOARD_PATH = '/admin/queues';

/** Mounts Bull Board for `queues` at {@link BULL_BOARD_PATH}; auth comes from the app's hook. */
export function mountBullBoard(app: FastifyInstance, queues: Queue[]): void {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'runway-relay' } },
  });
  void app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
