import { createHash } from 'node:crypto';
import {
  type CallbackJob,
  callbackJobOptions,
  describeIssues,
  type EventStreamOptions,
  type IngressConfig,
  peekTaskId,
  RawCallbackSchema,
  type RelayKeys,
} from '@runway-relay/contracts';
import type { RedisClient, ReplicaWait, WriteSession } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AuthPolicy, authenticate, type ProviderSignature } from '../auth/authenticate.js';
import { type ClaimResult, claimTask, type SignedDelivery } from '../dedupe/claim-task.js';
import { publishConflict } from '../dedupe/conflict-event.js';
import { enqueueCallback, validCallbackJob } from '../enqueue.js';
import {
  invalidCallback,
  notReplicated,
  redisUnavailable,
  signatureReplayed,
  signatureStale,
  unauthorized,
} from '../errors.js';
import { extraFields } from '../extra-fields.js';
import { loggableTaskId } from '../loggable-task-id.js';
import type { IngressMetrics } from '../metrics.js';
import { quarantineBody } from '../quarantine.js';

export interface CallbackRouteDeps {
  config: IngressConfig;
  redis: RedisClient;
  queue: Queue;
  /** Set when REDIS_WAIT_REPLICAS > 0: every 200 waits for that many replicas. */
  replicaWait?: ReplicaWait;
  keys: RelayKeys;
  metrics: IngressMetrics;
  authPolicy: AuthPolicy;
  /** Where `task.conflict` events go. */
  events: EventStreamOptions;
  /** ms since the epoch; injected so tests can move the clock. */
  now: () => number;
}

/** Seconds the provider is asked to wait before retrying while Redis is away. */
const RETRY_AFTER_S = 30;

/** Paths the provider may post to (docs/architecture.md §2). The token route exists only when a token is configured. */
export const CALLBACK_PATHS = ['/callbacks/runway', '/runway-video-callback'] as const;
export const TOKEN_PATH = '/callbacks/runway/:token';

/** Runs a Redis step; any failure becomes a 503 so the provider retries later. */
async function durably<T>(request: FastifyRequest, step: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    request.log.warn({ err: error, step, task_id: request.taskId }, 'redis unavailable');
    throw redisUnavailable(RETRY_AFTER_S);
  }
}

/** `REDIS_WAIT_REPLICAS`: throws a 503 unless enough replicas acknowledged the request's writes. */
async function confirmReplicated(request: FastifyRequest, metrics: IngressMetrics, session: WriteSession) {
  const ack = await durably(request, 'wait', () => session.confirm());
  if (ack.ok) return;
  metrics.replicaWaitFailures.inc({ reason: ack.reason });
  request.log.warn(
    { task_id: request.taskId, reason: ack.reason, replicas: ack.replicas },
    'callback not replicated in time',
  );
  throw notReplicated(RETRY_AFTER_S);
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** The replay-cache input of a provider-signed delivery (see `claimTask`). */
function signedDelivery(
  taskId: string,
  signature: ProviderSignature,
  rawBody: Buffer,
  toleranceS: number,
): SignedDelivery {
  return {
    signatureFingerprint: sha256(`${taskId}.${signature.timestamp}.${signature.value}`),
    bodySha256: sha256(rawBody),
    timestamp: signature.timestamp,
    // A signature is accepted while its timestamp is within ±tolerance of now: remember it
    // for the whole window, plus a minute of clock drift between ingress replicas.
    ttlSeconds: 2 * toleranceS + 60,
  };
}

function handler(deps: CallbackRouteDeps) {
  const jobOptions = callbackJobOptions(deps.config);
  const ttlSeconds = deps.config.TASK_TTL_DAYS * 86_400;

  return async (request: FastifyRequest, reply: FastifyReply) => {
    const body: unknown = request.body;
    const taskIdHint = peekTaskId(body);
    const nowMs = deps.now();
    const params = request.params as { token?: string };
    const auth = authenticate(deps.authPolicy, {
      sourceIp: request.clientIp,
      pathToken: params.token,
      headers: request.headers,
      rawBody: request.rawBody ?? Buffer.alloc(0),
      taskId: taskIdHint,
      nowMs,
    });
    if (!auth.ok) {
      // Unauthenticated input: only a bounded, sanitised prefix of its task id reaches the log.
      request.log.warn({ reason: auth.reason, task_id: loggableTaskId(taskIdHint) }, 'callback rejected: unauthorized');
      throw unauthorized(auth.reason);
    }

    const parsed = RawCallbackSchema.safeParse(body);
    if (!parsed.success) {
      const issues = describeIssues(parsed.error);
      await durably(request, 'quarantine', () =>
        quarantineBody(deps.redis, deps.keys.quarantine, deps.config.QUARANTINE_MAXLEN, {
          received_at: new Date(nowMs).toISOString(),
          request_id: request.id,
          source_ip: request.clientIp,
          path: request.routeOptions.url ?? '',
          issues,
          body: request.rawBody?.toString('utf8') ?? '',
        }),
      );
      request.log.warn({ task_id: loggableTaskId(taskIdHint), issues }, 'callback quarantined: schema mismatch');
      throw invalidCallback(issues);
    }

    const callback = parsed.data;
    request.taskId = callback.task_id;
    const receivedAt = new Date(nowMs).toISOString();
    const job: CallbackJob = validCallbackJob({
      v: 1,
      callback,
      receipt: {
        received_at: receivedAt,
        request_id: request.id,
        source_ip: request.clientIp,
        auth: auth.methods,
        path: request.routeOptions.url ?? '',
      },
      extra: extraFields(body),
    });
    const session = deps.replicaWait?.begin();
    const claim: ClaimResult = await durably(request, 'claim', () =>
      claimTask(deps.redis, deps.keys, {
        job,
        nowMs,
        ttlSeconds,
        ...(auth.providerSignature
          ? {
              signed: signedDelivery(
                callback.task_id,
                auth.providerSignature,
                request.rawBody ?? Buffer.alloc(0),
                deps.config.CALLBACK_TOLERANCE_S,
              ),
            }
          : {}),
      }),
    );
    const { decision } = claim;
    if (decision === 'replayed' || decision === 'stale') {
      deps.metrics.securityRejections.inc({ reason: decision });
      request.log.warn({ task_id: callback.task_id, decision }, 'callback refused: signature reused');
      throw decision === 'replayed' ? signatureReplayed() : signatureStale();
    }
    if (decision === 'new' || decision === 'ensure') {
      await durably(request, 'enqueue', () => enqueueCallback(deps.queue, job, jobOptions));
    }
    if (decision === 'conflict' && claim.accepted) {
      const accepted = claim.accepted;
      await durably(request, 'conflict_event', () =>
        publishConflict(deps.redis, deps.events, { taskId: callback.task_id, accepted, conflicting: claim.delivery }),
      );
    }
    // Every 200 stops the provider's retries, so each one waits for the replicas, duplicates
    // included: the claim always writes, and its acknowledgement covers the original job too.
    if (session) await confirmReplicated(request, deps.metrics, session);
    if (decision === 'conflict') {
      deps.metrics.conflicts.inc();
      request.log.warn(
        { task_id: callback.task_id, outcome: callback.outcome, accepted_outcome: claim.accepted?.outcome },
        'conflicting callback: the task is held until the conflict is resolved',
      );
      return reply.send({ status: 'conflict', task_id: callback.task_id });
    }
    if (decision === 'new') {
      deps.metrics.received.inc({ outcome: callback.outcome });
      // Said on the request's completion line: one line per callback (docs/ingress.md, "Logs").
      request.logFields = { result: 'received', outcome: callback.outcome, code: callback.code, auth: auth.methods };
      return reply.send({ status: 'received', task_id: callback.task_id });
    }
    deps.metrics.duplicates.inc();
    request.logFields = { result: 'duplicate', outcome: callback.outcome, decision };
    return reply.send({ status: 'duplicate', task_id: callback.task_id });
  };
}

/** Registers the callback routes. */
export function registerCallbackRoutes(app: FastifyInstance, deps: CallbackRouteDeps): void {
  const handle = handler(deps);
  const observe = async (request: FastifyRequest, reply: FastifyReply) => {
    deps.metrics.ackLatency.observe({ status: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 400) {
      const reason = reply.statusCode === 503 ? 'unavailable' : String(reply.statusCode);
      deps.metrics.rejected.inc({ reason: request.rejectReason ?? reason });
    }
  };
  for (const url of CALLBACK_PATHS) app.post(url, { onResponse: observe }, handle);
  if (deps.authPolicy.pathToken !== undefined) app.post(TOKEN_PATH, { onResponse: observe }, handle);
}
