import { createServer } from 'node:net';

/** A port the dev stack is about to listen on, and how to move it. */
export interface PortClaim {
  port: number;
  /** What listens there, e.g. `Redis`. */
  what: string;
  /** The variable or flag that moves it, e.g. `--redis-port <port>` or `INGRESS_PORT=<port>`. */
  change: string;
}

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * The problems with `claims`, one line each: a port another process listens on (checked by
 * binding it on `host`, before anything starts, so a clash is named instead of surfacing as a
 * service's EADDRINUSE halfway through the start), or a port claimed twice.
 */
export async function portProblems(claims: readonly PortClaim[], host = '127.0.0.1'): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Map<number, PortClaim>();
  for (const claim of claims) {
    const earlier = seen.get(claim.port);
    if (earlier) {
      problems.push(
        `port ${claim.port} is set for both ${earlier.what} and ${claim.what}: change one (${claim.change})`,
      );
      continue;
    }
    seen.set(claim.port, claim);
    if (!(await isFree(claim.port, host))) {
      problems.push(`port ${claim.port} (${claim.what}) is in use: stop what listens there or set ${claim.change}`);
    }
  }
  return problems;
}
