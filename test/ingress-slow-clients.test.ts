import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestIngress, providerHeaders, successBody, type TestIngress } from './helpers/ingress.js';
import { useRedisServer } from './helpers/per-file.js';

/*
 * Issue 10, item 4, with real sockets against a listening ingress: clients that trickle
 * their request are cut by the request/headers timeouts, and one address cannot hold more
 * than INGRESS_MAX_CONNECTIONS_PER_IP sockets. All of 127.0.0.0/8 is loopback on Linux, so
 * client sockets bound to 127.0.0.2 / 127.0.0.3 act as other senders.
 */

const redisServer = useRedisServer();
let ingress: TestIngress;
let port: number;
const sockets: Socket[] = [];
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const socket of sockets.splice(0)) socket.destroy();
  await ingress?.close();
});

async function listen(env: Record<string, string>): Promise<void> {
  ingress = await buildTestIngress(redisServer.url, env);
  port = ingress.port;
}

interface TrackedSocket {
  socket: Socket;
  /** ms from connect to the server closing it; undefined while open. */
  closedAfterMs?: number;
  received: string;
}

/** A raw TCP client from `localAddress`, connected (resolves once the handshake is done). */
async function open(localAddress = '127.0.0.1'): Promise<TrackedSocket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  sockets.push(socket);
  const tracked: TrackedSocket = { socket, received: '' };
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    tracked.received += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const start = Date.now();
  socket.once('close', () => {
    tracked.closedAfterMs = Date.now() - start;
  });
  return tracked;
}

/** Sends a request head announcing `contentLength` bytes, then one body byte every `everyMs`. */
function trickleBody(tracked: TrackedSocket, contentLength: number, everyMs: number): void {
  tracked.socket.write(
    `POST /callbacks/runway HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n{`,
  );
  timers.push(setInterval(() => tracked.socket.writable && tracked.socket.write(' '), everyMs));
}

/** Sends the request head one byte every `everyMs`, never finishing it. */
function trickleHeaders(tracked: TrackedSocket, everyMs: number): void {
  const head = 'POST /callbacks/runway HTTP/1.1\r\nHost: relay\r\nX-Padding: ';
  let i = 0;
  timers.push(
    setInterval(() => tracked.socket.writable && tracked.socket.write(head[i++ % head.length] ?? 'x'), everyMs),
  );
}

/** A signed callback over a fresh connection from `localAddress`; resolves with the status. */
function postCallback(localAddress = '127.0.0.1'): Promise<number> {
  const taskId = randomUUID();
  const body = JSON.stringify(successBody(taskId));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, localAddress, method: 'POST', path: '/callbacks/runway', agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    for (const [name, value] of Object.entries(providerHeaders(taskId))) req.setHeader(name, value);
    req.end(body);
  });
}

/** A keep-alive request on `tracked`; resolves once the answer's head arrived. */
async function healthz(tracked: TrackedSocket): Promise<void> {
  const before = tracked.received.length;
  tracked.socket.write('GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n');
  await waitFor(() => tracked.received.slice(before).includes('HTTP/1.1 200'), {
    timeoutMs: 5000,
    description: 'the healthz answer',
  });
}

describe('slow clients', () => {
  it('closes every slow-body and slow-header socket within the timeouts while real callbacks get 200', async () => {
    const requestTimeoutMs = 2000;
    const headersTimeoutMs = 1000;
    await listen({
      INGRESS_REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
      INGRESS_HEADERS_TIMEOUT_MS: String(headersTimeoutMs),
      INGRESS_IDLE_TIMEOUT_MS: '60000',
    });
    const slowBodies = await Promise.all(Array.from({ length: 40 }, () => open()));
    // Each byte arrives well inside any idle timeout, so only the whole-request limit can cut them.
    for (const tracked of slowBodies) trickleBody(tracked, 1000, 200);
    const slowHeads = await Promise.all(Array.from({ length: 10 }, () => open()));
    for (const tracked of slowHeads) trickleHeaders(tracked, 200);

    // While they hang, a real callback is answered at once.
    expect(await postCallback()).toBe(200);

    // Node checks the deadlines every second (connectionsCheckingInterval), hence the margin.
    const margin = 1500;
    await waitFor(() => [...slowBodies, ...slowHeads].every((t) => t.closedAfterMs !== undefined), {
      timeoutMs: requestTimeoutMs + margin + 2000,
      description: 'the server to close every slow socket',
    });
    const bodyClose = Math.max(...slowBodies.map((t) => t.closedAfterMs ?? Infinity));
    const headClose = Math.max(...slowHeads.map((t) => t.closedAfterMs ?? Infinity));
    expect(bodyClose).toBeGreaterThanOrEqual(requestTimeoutMs - 50);
    expect(bodyClose).toBeLessThan(requestTimeoutMs + margin);
    expect(headClose).toBeLessThan(headersTimeoutMs + margin);
    // Node answers the cut requests 408 before closing.
    expect(slowBodies.every((t) => t.received.startsWith('HTTP/1.1 408'))).toBe(true);
    expect(await postCallback()).toBe(200);
  });
});

describe('connections per address', () => {
  it('refuses sockets beyond INGRESS_MAX_CONNECTIONS_PER_IP from one address, not from others or a trusted proxy', async () => {
    const cap = 8;
    await listen({
      INGRESS_MAX_CONNECTIONS_PER_IP: String(cap),
      INGRESS_KEEP_ALIVE_TIMEOUT_MS: '60000',
      TRUSTED_PROXIES: '127.0.0.3',
    });
    // `cap` keep-alive connections from 127.0.0.1, each proven served.
    const held = await Promise.all(Array.from({ length: cap }, () => open('127.0.0.1')));
    for (const tracked of held) await healthz(tracked);

    // One more from the same address is closed by the server without an answer.
    const extra = await open('127.0.0.1');
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n');
    await waitFor(() => extra.closedAfterMs !== undefined, {
      timeoutMs: 5000,
      description: 'the extra socket to close',
    });
    expect(extra.received).toBe('');
    await expect(postCallback('127.0.0.1')).rejects.toThrow();

    // Another sender is unaffected.
    expect(await postCallback('127.0.0.2')).toBe(200);
    // A trusted proxy carries many senders: no per-address cap for it.
    const viaProxy = await Promise.all(Array.from({ length: cap * 2 }, () => open('127.0.0.3')));
    for (const tracked of viaProxy) await healthz(tracked);
    expect(viaProxy.every((t) => t.closedAfterMs === undefined)).toBe(true);

    // Once one of the held sockets closes, the address may connect again.
    held[0]?.socket.destroy();
    await waitFor(async () => (await postCallback('127.0.0.1').catch(() => 0)) === 200, {
      timeoutMs: 5000,
      description: 'a callback from 127.0.0.1 after one of its sockets closed',
    });
    expect(held.slice(1).every((t) => t.closedAfterMs === undefined)).toBe(true);

    const metrics = (await ingress.ops.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/relay_ingress_connections_refused_total\{reason="per_ip"\} [1-9]/);
  });
});
