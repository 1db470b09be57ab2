import {
  type ReceivedRequest,
  type Responder,
  startWebhookReceiver,
  type WebhookReceiver,
} from '@runway-relay/testkit';
import { Webhook } from 'standardwebhooks';
import { type DashboardQueue, dashboardAuth, startStackDashboard, type TestDashboard } from './dashboard.js';
import { type Backing, type Stack, startStack } from './stack.js';

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

/** A dashboard on `queue`'s prefix and stream (usually a stack's) with the delivery settings of `env`. */
export function startDeliveryDashboard(
  backing: Pick<Backing, 'redis' | 's3'>,
  queue: DashboardQueue,
  env: Record<string, string> = testDeliveryEnv,
): Promise<TestDashboard> {
  return startStackDashboard(backing, queue, env);
}

/** JSON admin calls through `app.inject`, authenticated like an operator's script. */
export function adminClient(app: { inject: TestDashboard['app']['inject'] }) {
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

export type AdminClient = ReturnType<typeof adminClient>;

/** Creates an endpoint for `url` through the admin API (201 or it throws); its id and signing secret. */
export async function addEndpoint(
  admin: AdminClient,
  url: string,
  fields: Record<string, unknown> = {},
): Promise<{ endpointId: string; secret: string }> {
  const created = await admin.post('/api/endpoints', { url, ...fields });
  if (created.status !== 201) throw new Error(`POST /api/endpoints: ${created.status} ${JSON.stringify(created.body)}`);
  const { endpoint, secret } = created.body as { endpoint: { id: string }; secret: string };
  return { endpointId: endpoint.id, secret };
}

/**
 * What a webhook delivery test runs against: a receiver on 127.0.0.1, a stack (ingress and an
 * in-process worker that delivers) and a dashboard on its prefix for the admin API.
 */
export interface DeliveryScene {
  receiver: WebhookReceiver;
  stack: Stack;
  dashboard: TestDashboard;
  admin: AdminClient;
  /** Closes the dashboard, the stack and the receiver, in that order. */
  close(): Promise<void>;
}

/** Starts a {@link DeliveryScene} on `backing`: the stack with `env`, the dashboard with `dashboardEnv`. */
export async function startDeliveryScene(
  backing: Backing,
  env: Record<string, string> = testDeliveryEnv,
  dashboardEnv: Record<string, string> = env,
): Promise<DeliveryScene> {
  const started: Array<{ close(): Promise<unknown> }> = [];
  const close = async () => {
    for (const part of started.splice(0).reverse()) await part.close();
  };
  try {
    const receiver = await startWebhookReceiver();
    started.push(receiver);
    const stack = await startStack(backing, env);
    started.push(stack);
    const dashboard = await startDeliveryDashboard(backing, stack, dashboardEnv);
    started.push(dashboard);
    return { receiver, stack, dashboard, admin: adminClient(dashboard.app), close };
  } catch (error) {
    await close();
    throw error;
  }
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
