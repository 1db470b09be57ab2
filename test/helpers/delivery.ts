import type { ReceivedRequest, Responder, WebhookReceiver } from '@runway-relay/testkit';
import { Webhook } from 'standardwebhooks';
import {
  DASHBOARD_PASSWORD,
  DASHBOARD_USER,
  dashboardAuth,
  dashboardStorageEnv,
  startTestDashboard,
} from './dashboard.js';
import type { Backing, Stack } from './stack.js';

/**
 * DELIVERY_* for tests: the receiver listens on 127.0.0.1 over http, retries are quick, the
 * breaker opens after 5 failures and cools down in 200 ms.
 */
export const testDeliveryEnv: Record<string, string> = {
  DELIVERY_ALLOW_PRIVATE: 'true',
  DELIVERY_ALLOW_HTTP: 'true',
  DELIVERY_TIMEOUT_MS: '2000',
  DELIVERY_ATTEMPTS: '15',
  DELIVERY_BACKOFF_MS: '20',
  DELIVERY_BREAKER_THRESHOLD: '5',
  DELIVERY_BREAKER_COOLDOWN_MS: '200',
  DELIVERY_LOG_RETENTION_S: '3600',
};

/** A dashboard on `stack`'s prefix and stream with the delivery settings of `env`. */
export function startDeliveryDashboard(backing: Backing, stack: Stack, env: Record<string, string> = testDeliveryEnv) {
  return startTestDashboard({
    REDIS_URL: backing.redis.url,
    QUEUE_PREFIX: stack.ingress.config.QUEUE_PREFIX,
    EVENTS_STREAM: stack.stream,
    DASHBOARD_USER,
    DASHBOARD_PASSWORD,
    NODE_ENV: 'test',
    ...dashboardStorageEnv(backing.s3),
    ...env,
  });
}

/** JSON admin calls through `app.inject`, authenticated like an operator's script. */
export function adminClient(app: { inject: Awaited<ReturnType<typeof startTestDashboard>>['app']['inject'] }) {
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: { ...dashboardAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: res.body === '' ? null : (res.json() as Record<string, unknown>) };
  };
  return {
    get: (url: string) => call('GET', url),
    post: (url: string, body?: unknown) => call('POST', url, body),
    patch: (url: string, body: unknown) => call('PATCH', url, body),
    delete: (url: string) => call('DELETE', url),
  };
}

/** Verifies a received request as a receiver would, with the reference implementation; throws when it fails. */
export function verifyReceived(secret: string, request: ReceivedRequest): unknown {
  const headers: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    headers[name] = String(request.headers[name] ?? '');
  }
  return new Webhook(secret).verify(request.body, headers);
}

/** What the receiver answered each request with (only answers written to a live socket). */
export function answerLog() {
  const answers = new Map<ReceivedRequest, number>();
  const answer =
    (status: number): Responder =>
    (request, response) => {
      if (response.socket?.destroyed) return;
      answers.set(request, status);
      response.writeHead(status).end();
    };
  return { answers, answer };
}

export const webhookIdOf = (request: ReceivedRequest) => String(request.headers['webhook-id']);

/** Receiver requests grouped by `webhook-id`. */
export function byWebhookId(receiver: WebhookReceiver): Map<string, ReceivedRequest[]> {
  const groups = new Map<string, ReceivedRequest[]>();
  for (const request of receiver.received) {
    const id = webhookIdOf(request);
    groups.set(id, [...(groups.get(id) ?? []), request]);
  }
  return groups;
}
