import type { Server } from 'node:net';

export interface ConnectionLimitOptions {
  /** Open sockets allowed per remote address; more are destroyed on arrival. */
  maxPerAddress: number;
  /** Addresses never capped (trusted proxies carry many senders on their connections). */
  exempt: (address: string) => boolean;
  /** Called for each refused socket, e.g. to count it. */
  onRefused: (address: string, firstOfBurst: boolean) => void;
}

/**
 * Caps the open connections of each remote address on `server`: a client that opens
 * hundreds of sockets (slow bodies, idle keep-alives) runs into the cap long before the
 * process runs out of file descriptors and real callbacks start failing. Counted at the TCP
 * level, so the socket is closed before any byte is parsed. `firstOfBurst` is true for the
 * first refusal since the address was last under its cap, so a flood logs one line.
 */
export function limitConnectionsPerAddress(server: Server, options: ConnectionLimitOptions): void {
  const open = new Map<string, number>();
  const refusing = new Set<string>();
  // Prepended: runs before the HTTP server sets up a parser for the socket.
  server.prependListener('connection', (socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || options.exempt(address)) return;
    const count = open.get(address) ?? 0;
    if (count >= options.maxPerAddress) {
      const first = !refusing.has(address);
      refusing.add(address);
      socket.destroy();
      options.onRefused(address, first);
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
      if (left < options.maxPerAddress) refusing.delete(address);
    });
  });
}
