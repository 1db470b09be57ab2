/**
 * The yardstick for the ingress benchmark: bare Fastify parsing the same JSON body and
 * answering 200 `{"status":"received"}` — no authentication, no schema, no Redis.
 * Run as its own process by bench/ingress-ack.ts; BASELINE_PORT picks the port.
 */
import Fastify from 'fastify';
import { serveBaseline } from './lib/serve-baseline.js';

const app = Fastify({ logger: false, bodyLimit: 65_536 });

app.post('/callbacks/runway', async (request) => {
  // The body is parsed by Fastify's JSON parser before the handler runs, as in the ingress.
  if (typeof request.body !== 'object' || request.body === null) throw new Error('expected a JSON object');
  return { status: 'received' };
});

await serveBaseline(app);
