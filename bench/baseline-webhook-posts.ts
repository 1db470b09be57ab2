/**
 * The webhooks baseline: a bare loop of undici POSTs of the same body to the same receiver, at
 * the delivery worker's concurrency, and nothing else (no queue, no Redis, no signing, no log).
 * Env: URL, BODY, CONCURRENCY, WARMUP (requests sent first, unmeasured), and either COUNT
 * (as fast as the concurrency allows) or RATE + DURATION_S (a fixed rate, requests sent at
 * their scheduled times). Every request carries `x-bench-sent-at` (ms since the epoch, with
 * fractions) so the receiver measures send → received as it does event → delivered.
 * Prints `{"ms":…,"sent":…,"errors":…}`.
 */
import { Agent, request } from 'undici';
import { z } from 'zod';

const env = z
  .object({
    URL: z.url(),
    BODY: z.string().min(1),
    CONCURRENCY: z.coerce.number().int().positive(),
    WARMUP: z.coerce.number().int().nonnegative().default(0),
    COUNT: z.coerce.number().int().positive().optional(),
    RATE: z.coerce.number().positive().optional(),
    DURATION_S: z.coerce.number().positive().optional(),
  })
  .parse(process.env);
const agent = new Agent({ connections: env.CONCURRENCY });
const now = () => performance.timeOrigin + performance.now();
let errors = 0;

async function post(sentAt: number, tag: string): Promise<void> {
  try {
    const response = await request(env.URL, {
      method: 'POST',
      dispatcher: agent,
      body: env.BODY,
      headers: { 'content-type': 'application/json', 'x-bench-sent-at': String(sentAt), 'x-bench-tag': tag },
    });
    await response.body.dump();
    if (response.statusCode < 200 || response.statusCode >= 300) errors += 1;
  } catch {
    errors += 1;
  }
}

/** `count` POSTs by `concurrency` loops, each sending its next as soon as the last is answered. */
async function closedLoop(count: number, tag: string): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < count) {
      next += 1;
      await post(now(), tag);
    }
  };
  await Promise.all(Array.from({ length: env.CONCURRENCY }, loop));
}

/** POSTs at `rate` per second for `durationS`, each timed from its scheduled send. */
async function fixedRate(rate: number, durationS: number): Promise<number> {
  const total = Math.round(rate * durationS);
  const start = now() + 50;
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const at = start + (i * 1000) / rate;
    const wait = at - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(post(at, 'measured'));
  }
  await Promise.all(inFlight);
  return total;
}

await closedLoop(env.WARMUP, 'warmup');
const started = now();
let sent: number;
if (env.COUNT !== undefined) {
  await closedLoop(env.COUNT, 'measured');
  sent = env.COUNT;
} else if (env.RATE !== undefined && env.DURATION_S !== undefined) {
  sent = await fixedRate(env.RATE, env.DURATION_S);
} else {
  throw new Error('set COUNT, or RATE and DURATION_S');
}
const ms = now() - started;
await agent.close();
process.stdout.write(`${JSON.stringify({ ms, sent, errors })}\n`);
