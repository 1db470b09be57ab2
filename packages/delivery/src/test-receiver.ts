import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Responder = (request: Received, response: ServerResponse) => void;

/** A real webhook receiver on 127.0.0.1 for tests: answers with a script of responders, records every request. */
export interface TestReceiver {
  url: string;
  port: number;
  received: Received[];
  /** Answers the next requests with these, in order; then with the fallback (204). */
  script(...responders: Responder[]): void;
  /** Answers every later request with this. */
  always(responder: Responder): void;
  connections(): number;
  close(): Promise<void>;
}

export const reply =
  (status: number, body = '', headers: Record<string, string> = {}): Responder =>
  (_request, response) =>
    response.writeHead(status, headers).end(body);

/** Never answers (the attempt's timeout has to end it). */
export const hang: Responder = () => undefined;

export async function startReceiver(): Promise<TestReceiver> {
  const received: Received[] = [];
  const queue: Responder[] = [];
  let fallback: Responder = reply(204);
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
