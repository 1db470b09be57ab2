import type { FastifyInstance } from 'fastify';

/**
 * Serves a baseline app on 127.0.0.1:`BASELINE_PORT` (0 = a free port), prints the
 * `baseline listening on <port>` line bench/ingress-ack.ts waits for, and exits cleanly on
 * SIGTERM/SIGINT (so `node --cpu-prof` can write its profile) after `close`.
 */
export async function serveBaseline(app: FastifyInstance, close: () => Promise<unknown> = async () => {}) {
  const port = Number(process.env.BASELINE_PORT ?? 0);
  const shutdown = () => {
    app
      .close()
      .then(close)
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  console.log(`baseline listening on ${typeof address === 'object' && address ? address.port : port}`);
}
