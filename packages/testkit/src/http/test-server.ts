import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A real HTTP server for tests that download from it (no mocks): routes registered per test.

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** A real HTTP server on 127.0.0.1 and a free port, with routes registered per test. */
export interface TestServer {
  origin: string;
  port: number;
  /** Requests received, by path (query excluded). */
  hits: Map<string, number>;
  /** TCP connections accepted. */
  connections(): number;
  route(path: string, handler: RouteHandler): void;
  /** Routes `path` to a 200 with `body`, its Content-Length and `headers`. */
  serve(path: string, body: Buffer, headers: Record<string, string | number>): void;
  close(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const routes = new Map<string, RouteHandler>();
  const hits = new Map<string, number>();
  let connections = 0;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    void Promise.resolve(handler(req, res)).catch(() => res.destroy());
  });
  server.on('connection', () => {
    connections += 1;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    hits,
    connections: () => connections,
    route: (path, handler) => routes.set(path, handler),
    serve: (path, body, headers) =>
      routes.set(path, (_req, res) => res.writeHead(200, { 'content-length': body.length, ...headers }).end(body)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
