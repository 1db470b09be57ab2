/**
 * The floor for the ingress benchmark: bare Fastify parsing the same JSON body and adding ONE
 * BullMQ job per request (job id = task id, the ingress's job options), answering 200 once
 * Redis has it — no authentication, no schema, no dedupe claim, no metrics, no logs. Whatever
 * separates bare Fastify from this row is the price of durable queueing through BullMQ itself;
 * whatever separates this row from the ingress is the relay's own work.
 * Run as its own process by bench/ingress-ack.ts; BASELINE_PORT, BASELINE_REDIS_URL and
 * BASELINE_PREFIX configure it.
 */
import { callbackJobOptions, DEFAULT_QUEUE_NAME, JobPolicyEnvSchema } from '@runway-relay/contracts';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { serveBaseline } from './lib/serve-baseline.js';

const connection = new Redis(process.env.BASELINE_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const queue = new Queue(DEFAULT_QUEUE_NAME, { connection, prefix: process.env.BASELINE_PREFIX ?? 'floor' });
const jobOptions = callbackJobOptions(JobPolicyEnvSchema.parse({}));
const app = Fastify({ logger: false, bodyLimit: 65_536 });

/** Enough of the body to name the job; malformed bodies are the load generator's bug here. */
function taskIdOf(body: unknown): string {
  const data = (body as { data?: { task_id?: unknown } } | null)?.data;
  if (typeof data?.task_id !== 'string') throw new Error('expected data.task_id');
  return data.task_id;
}

app.post('/callbacks/runway', async (request) => {
  const taskId = taskIdOf(request.body);
  await queue.add('callback', request.body, { ...jobOptions, jobId: `${taskId}.success` });
  return { status: 'received', task_id: taskId };
});

await serveBaseline(app, () => queue.close());
