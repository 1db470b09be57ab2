import { redactUrl } from '@runway-relay/contracts';
import type { Logger } from '@runway-relay/runtime';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Dispatcher } from 'undici';
import { parseRetryAfter } from './backoff.js';
import type { Breaker } from './breaker.js';
import { DeliveryJobDataSchema } from './delivery-job.js';
import type { Endpoint } from './endpoint.schema.js';
import type { EndpointGate } from './endpoint-gate.js';
import type { EndpointStore } from './endpoint-store.js';
import type { Message, MessageLog } from './message-log.js';
import type { DeliveryMetrics } from './metrics.js';
import { buildPayload, type PayloadDependencies } from './payload.js';
import { sendAttempt } from './send-attempt.js';
import { signedHeaders } from './signing.js';

/** A failed attempt that BullMQ retries; the backoff strategy reads `retryAfterMs`. */
export class DeliveryAttemptError extends Error {
  override readonly name = 'DeliveryAttemptError';
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

export type DeliveryResult = { status: 'delivered' | 'parked' | 'failed' | 'missing'; http_status?: number };

export interface DeliveryProcessorDependencies extends PayloadDependencies {
  endpoints: EndpointStore;
  log: MessageLog;
  breaker: Breaker;
  gate: EndpointGate;
  /** From {@link createDeliveryAgent}: judges every resolved address. */
  dispatcher: Dispatcher;
  /** DELIVERY_TIMEOUT_MS. */
  timeoutMs: number;
  metrics?: DeliveryMetrics;
  logger: Logger;
}

/** Parks the job until `at` without failing it or holding a worker slot. */
async function delayUntil(job: Job, token: string | undefined, at: number): Promise<never> {
  await job.moveToDelayed(Math.max(at, Date.now() + 1), token);
  throw new DelayedError();
}

/**
 * The processor of the `deliveries` queue: one attempt of one message. 2xx delivers; 410
 * disables the endpoint and parks the message; anything else (other statuses, timeouts,
 * network errors) throws {@link DeliveryAttemptError} and BullMQ retries with the delivery
 * backoff. An endpoint over its in-flight or rate limit, or with an open breaker, delays the
 * job instead of failing it. Every attempt is logged (docs/delivery.md).
 */
export function createDeliveryProcessor(deps: DeliveryProcessorDependencies) {
  const { endpoints, log, breaker, gate, metrics, logger } = deps;

  return async (job: Job, token?: string): Promise<DeliveryResult> => {
    const parsed = DeliveryJobDataSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid delivery job data: ${parsed.error.message}`);
    const data = parsed.data;
    const message = await log.get(data.message_id);
    if (message === null) {
      logger.warn({ job_id: job.id, message_id: data.message_id }, 'delivery message expired or unknown: dropped');
      return { status: 'missing' };
    }
    const lines = logger.child({
      task_id: message.event.task_id,
      message_id: message.id,
      endpoint_id: message.endpoint_id,
    });
    const endpoint = await endpoints.get(message.endpoint_id);
    if (endpoint === null) {
      await log.setStatus(message, 'failed', { httpStatus: null, error: 'endpoint deleted' });
      metrics?.failed.inc({ endpoint_id: message.endpoint_id, reason: 'endpoint_deleted' });
      lines.warn('endpoint deleted: message failed');
      return { status: 'failed' };
    }
    if (!endpoint.enabled) {
      await log.setStatus(message, 'parked');
      lines.info({ reason: endpoint.disabled_reason }, 'endpoint disabled: message parked');
      return { status: 'parked' };
    }

    const slot = `${job.id}:${job.attemptsStarted}`;
    const limits = { maxInFlight: endpoint.max_in_flight, ratePerS: endpoint.rate_limit_per_s };
    // The attempt's time is the moment the gate admitted it: the second its rate limit counted.
    const admittedAt = new Date();
    const admitted = await gate.acquire(endpoint.id, slot, limits, admittedAt.getTime());
    if (!admitted.allowed) return delayUntil(job, token, admitted.retryAt);
    try {
      const decision = await breaker.acquire(endpoint.id);
      if (!decision.allowed) {
        // Spread the waiting jobs over a second past the reopening, so the probe goes first.
        return await delayUntil(job, token, decision.retryAt + Math.round(Math.random() * 1000));
      }
      return await attempt(job, message, endpoint, data.replay, lines, admittedAt);
    } finally {
      await gate.release(endpoint.id, slot);
    }
  };

  async function attempt(
    job: Job,
    message: Message,
    endpoint: Endpoint,
    replay: boolean,
    lines: Logger,
    at: Date,
  ): Promise<DeliveryResult> {
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    let body: string;
    try {
      body = JSON.stringify(await buildPayload(message.event, deps));
    } catch (error) {
      // Our side failed (metadata lookup, presigning): retried like a failed attempt, but
      // neither sent, nor logged as an attempt, nor held against the endpoint's breaker.
      const text = `payload: ${error instanceof Error ? error.message : String(error)}`;
      await log.setStatus(message, final ? 'failed' : 'pending', { httpStatus: null, error: text });
      lines.error({ err: error, final }, 'could not build the webhook payload');
      throw error;
    }
    const headers = signedHeaders(endpoint.secret, message.id, body, at);
    const sent = await sendAttempt({
      url: endpoint.url,
      body,
      headers,
      dispatcher: deps.dispatcher,
      timeoutMs: deps.timeoutMs,
    });
    const n = await log.nextAttempt(message.id);
    if (n === 0) {
      // Dropped by the log's retention while this attempt ran: nothing left to record or retry.
      lines.warn({ http_status: sent.kind === 'response' ? sent.status : null }, 'message dropped during its attempt');
      return { status: 'missing' };
    }
    const status = sent.kind === 'response' ? sent.status : null;
    const delivered = status !== null && status >= 200 && status < 300;
    const gone = status === 410;
    const result = delivered ? 'delivered' : gone ? 'gone' : 'failed';
    const error = sent.kind === 'error' ? `${sent.reason}: ${sent.message}` : delivered ? null : `HTTP ${status}`;
    await log.record({
      message_id: message.id,
      endpoint_id: endpoint.id,
      task_id: message.event.task_id,
      event_type: message.event.type,
      n,
      at: at.toISOString(),
      result,
      http_status: status,
      latency_ms: sent.latencyMs,
      response_excerpt: sent.kind === 'response' ? sent.excerpt : null,
      error,
      replay,
    });
    metrics?.attemptSeconds.observe({ endpoint_id: endpoint.id, result }, sent.latencyMs / 1000);
    metrics?.retryDepth.observe({ result }, n);
    const fields = { attempt: n, http_status: status, latency_ms: sent.latencyMs, url: redactUrl(endpoint.url) };

    if (delivered) {
      await breaker.record(endpoint.id, true);
      await log.setStatus(message, 'delivered', { httpStatus: status, error: null });
      metrics?.delivered.inc({ endpoint_id: endpoint.id });
      lines.info(fields, 'webhook delivered');
      return { status: 'delivered', http_status: status };
    }
    if (gone) {
      // 410: the receiver says this endpoint is gone for good. Stop, keep what comes later parked.
      await endpoints.disable(endpoint.id, `answered 410 Gone at ${at.toISOString()}`);
      await log.setStatus(message, 'parked', { httpStatus: status, error });
      metrics?.failed.inc({ endpoint_id: endpoint.id, reason: 'gone' });
      lines.warn(fields, 'endpoint answered 410 Gone: disabled, message parked');
      return { status: 'parked', http_status: 410 };
    }
    const breakerState = await breaker.record(endpoint.id, false);
    const blocked = sent.kind === 'error' && sent.reason === 'blocked';
    const ended = blocked || final;
    await log.setStatus(message, ended ? 'failed' : 'pending', { httpStatus: status, error });
    if (ended) metrics?.failed.inc({ endpoint_id: endpoint.id, reason: blocked ? 'blocked' : 'attempts_exhausted' });
    lines.warn({ ...fields, error, breaker: breakerState, final: ended }, 'webhook attempt failed');
    // A forbidden address will not become public by waiting: no retry.
    if (blocked) throw new UnrecoverableError(error ?? 'blocked');
    const retryAfterMs = sent.kind === 'response' ? parseRetryAfter(sent.retryAfter) : undefined;
    throw new DeliveryAttemptError(error ?? 'failed', retryAfterMs);
  }
}
