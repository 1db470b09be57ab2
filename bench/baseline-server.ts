/**
 * The yardstick for the ingress benchmark: bare Fastify parsing the same JSON body and
 * answering 200 `{"status":"received"}` — no authentication, no schema, no Redis.
 * Run as its own process by bench/ingress-ack.ts; BASELINE_PORT picks the port.
 */
import Fastify from 'fastify';

const port = Number(process.env.BASELINE_PORT ?? 0);
const app = Fastify({ logger: false, bodyLimit: 65_536 });

app.post('/callbacks/runway', async (request) => {
  // The body is parsed by Fastify's JSON parser before the handler runs, as in the ingress.
  if (typeof request.body !== 'object' || request.body === null) throw new Error('expected a JSON object');
  return { status: 'received' };
});

const shutdown = () => {
  // A clean exit, so `node --cpu-prof` can write its profile.
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

await app.listen({ host: '127.0.0.1', port });
const address = app.server.address();
console.log(`baseline listening on ${typeof address === 'object' && address ? address.port : port}`);
