import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The webhooks benchmark's receiver: a bare Node HTTP server on 127.0.0.1 that reads each body,
 * answers 204 and notes when the request arrived. Signatures are not verified here (the
 * delivery tests and examples/webhook-receiver.ts do that): it should cost both sides the same.
 */
export interface TimingReceiver {
  url: string;
  /** Arrival time (ms since the epoch, with fractions) of the first request of each `webhook-id`. */
  deliveredAt: Map<string, number>;
  /** Requests with the same `webhook-id` seen again (a retry or a duplicate). */
  repeats(): number;
  /** send → received (ms) of the baseline's measured requests (header `x-bench-sent-at`). */
  baselineLatencies: number[];
  baselineCount(): number;
  /** The first signed request kept whole, for a signature check. */
  firstSigned(): { headers: Record<string, string>; body: string } | undefined;
  /** Clears what was recorded. */
  reset(): void;
  close(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();

export async function startTimingReceiver(): Promise<TimingReceiver> {
  const deliveredAt = new Map<string, number>();
  let repeats = 0;
  let baselineLatencies: number[] = [];
  let baselineCount = 0;
  let firstSigned: { headers: Record<string, string>; body: string } | undefined;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = now();
      const id = request.headers['webhook-id'];
      const sentAt = request.headers['x-bench-sent-at'];
      if (typeof id === 'string') {
        if (deliveredAt.has(id)) repeats += 1;
        else deliveredAt.set(id, at);
        if (firstSigned === undefined) {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(request.headers))
            if (typeof value === 'string') headers[name] = value;
          firstSigned = { headers, body: Buffer.concat(chunks).toString('utf8') };
        }
      } else if (typeof sentAt === 'string') {
        baselineCount += 1;
        if (request.headers['x-bench-tag'] === 'measured') baselineLatencies.push(at - Number(sentAt));
      }
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveredAt,
    repeats: () => repeats,
    get baselineLatencies() {
      return baselineLatencies;
    },
    baselineCount: () => baselineCount,
    firstSigned: () => firstSigned,
    reset: () => {
      deliveredAt.clear();
      repeats = 0;
      baselineLatencies = [];
      baselineCount = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
