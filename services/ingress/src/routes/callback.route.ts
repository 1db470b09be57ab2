import { createHash } from 'node:crypto';
import { type AdmitDeps, admitCallback, type ClaimResult, type SignedDelivery } from '@runway-relay/admission';
import {
  callbackJobOptions,
  describeIssues,
  type IngressConfig,
  peekTaskId,
  type QuarantineEntry,
  quarantineIdFor,
  RawCallbackSchema,
  type RelayKeys,
  TaskIdSchema,
} from '@runway-relay/contracts';
import type { EventStreamOptions, RedisClient, ReplicaWait, WriteSession } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AuthPolicy, authenticate, type ProviderSignature } from '../auth/authenticate.js';
import {
  invalidCallback,
  notReplicated,
  redisUnavailable,
  signatureReplayed,
  signatureStale,
  unauthorized,
} from '../errors.js';
import { loggableTaskId } from '../loggable-task-id.js';
import type { IngressMetrics } from '../metrics.js';
import { publishRejection, quarantineBody } from '../quarantine.js';

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
  const admitDeps: AdmitDeps = {
    redis: deps.redis,
    queue: deps.queue,
    keys: deps.keys,
    events: deps.events,
    jobOptions: callbackJobOptions(deps.config),
    ttlSeconds: deps.config.TASK_TTL_DAYS * 86_400,
  };

  return async (request: FastifyRequest, reply: FastifyReply) => {
    const body: unknown = request.body;
    const taskIdHint = peekTaskId(body);
    const nowMs = deps.now();
    const params = request.params as { token?: string };
    const auth = authenticate(deps.authPolicy, {
      sourceIp: request.ip,
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
      const rawText = request.rawBody?.toString('utf8') ?? '';
      const taskId = TaskIdSchema.safeParse(taskIdHint);
      const entry: QuarantineEntry = {
        id: quarantineIdFor(rawText),
        received_at: new Date(nowMs).toISOString(),
        request_id: request.id,
        source_ip: request.ip,
        path: request.routeOptions.url ?? '',
        task_id: taskId.success ? taskId.data : null,
        issues,
        body: rawText,
      };
      await durably(request, 'quarantine', () =>
        quarantineBody(deps.redis, deps.keys, deps.config.QUARANTINE_MAXLEN, entry),
      );
      // After the quarantine: the event points at the kept body. A failure here is a 503, the
      // provider retries, and the same body gives the same entry and the same event id.
      const told = await durably(request, 'rejection_event', () =>
        publishRejection(deps.redis, deps.events, entry, (body as { code?: unknown } | null)?.code),
      );
      request.log.warn(
        { task_id: loggableTaskId(taskIdHint), issues, quarantine_id: entry.id, event: told },
        'callback quarantined: schema mismatch',
      );
      throw invalidCallback(issues);
    }

    const callback = parsed.data;
    request.taskId = callback.task_id;
    const session = deps.replicaWait?.begin();
    const claim: ClaimResult = await admitCallback(
      admitDeps,
      {
        callback,
        body,
        receipt: {
          received_at: new Date(nowMs).toISOString(),
          request_id: request.id,
          source_ip: request.ip,
          auth: auth.methods,
          path: request.routeOptions.url ?? '',
        },
        nowMs,
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
      },
      (step, work) => durably(request, step, work),
    );
    const { decision } = claim;
    if (decision === 'replayed' || decision === 'stale') {
      deps.metrics.securityRejections.inc({ reason: decision });
      request.log.warn({ task_id: callback.task_id, decision }, 'callback refused: signature reused');
      throw decision === 'replayed' ? signatureReplayed() : signatureStale();
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
