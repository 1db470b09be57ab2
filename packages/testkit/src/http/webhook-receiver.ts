import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Responder = (request: ReceivedRequest, response: ServerResponse) => void;

/**
 * A real webhook receiver on 127.0.0.1 for tests: answers with a script of responders, records
 * every request (also those it answers with an error or never answers).
 */
export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** Answers the next requests with these, in order; then with the fallback (204). */
  script(...responders: Responder[]): void;
  /** Answers every later request with this. */
  always(responder: Responder): void;
  connections(): number;
  /** Stops listening and drops open connections: the endpoint "goes away" (connection refused). */
  pause(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export const respondWith =
  (status: number, body = '', headers: Record<string, string> = {}): Responder =>
  (_request, response) =>
    response.writeHead(status, headers).end(body);

/** Never answers (the attempt's timeout has to end it). */
export const neverRespond: Responder = () => undefined;

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const queue: Responder[] = [];
  let fallback: Responder = respondWith(204);
  let connections = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(entry);
      (queue.shift() ?? fallback)(entry, response);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    script: (...responders) => queue.push(...responders),
    always: (responder) => {
      fallback = responder;
    },
    connections: () => connections,
    pause: stop,
    resume: () => listen(port),
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}
