import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { type Behavior, formatBehavior, parseBehavior } from './behavior.js';
import { MEDIA_FILES, type MediaKind } from './media.js';
import { tinyPng } from './media-layout.js';
import { type PathStats, respondWith, sendText } from './media-responder.js';
import { createSimulatedTaskBook, type SimulatedTaskBook } from './provider-api.js';
import { createTaskLifecycle, type ProviderSimOptions, type TaskLifecycle } from './provider-lifecycle.js';
import { createProviderApi, type ProviderApi } from './provider-routes.js';

/** Options of {@link startMediaServer}. */
export interface MediaServerOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (a free one). */
  port?: number;
  /** Bearer key of the polling endpoint. Default: a random UUID (read it from `apiKey`). */
  apiKey?: string;
  /** Size of a video when the URL gives none. Default 256 KiB. */
  defaultVideoSize?: number;
  /** Bytes `huge-declared` sends before giving up on a client that keeps reading. Default 64 MiB. */
  hugeCapBytes?: number;
  /** How the provider API's generated tasks behave (timings, failures, rate limit, expiry, callbacks). */
  provider?: ProviderSimOptions;
}

/** Query parameters understood by media URLs (see {@link MediaServer.url}). */
export interface MediaUrlParams {
  /** Body size in bytes. */
  size?: number;
  /** Behaviour as text or value, e.g. `'flaky:2'`. */
  behavior?: Behavior | string;
  /** Content type to declare instead of the kind's own. */
  type?: string;
  /** File name instead of `video.mp4` / `cover.png` (its first word must stay `video` or `cover`). */
  file?: string;
}

/** A running provider simulator: media CDN plus the task-detail API. */
export interface MediaServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  port: number;
  /** Bearer key of the provider API (`/api/v1/...`). */
  apiKey: string;
  /** Tasks the polling endpoints answer about. */
  tasks: SimulatedTaskBook;
  /** The provider API: request counters, injected faults, rate limit. */
  api: ProviderApi;
  /** Generated tasks and their callbacks. */
  lifecycle: TaskLifecycle;
  /** Absolute URL of a media file; also marks `id` as seen (for `expire-after`). */
  url(id: string, kind: MediaKind, params?: MediaUrlParams): string;
  /** The path counters are kept under, e.g. `/media/<id>/video.mp4`. */
  pathOf(id: string, kind: MediaKind, file?: string): string;
  /** Makes every request for `id` (or only its `kind`) behave so, overriding the URL's own. */
  setBehavior(id: string, behavior: Behavior | string, kind?: MediaKind): void;
  clearBehavior(id: string, kind?: MediaKind): void;
  /** From now on every file of `id` answers `status` (403 by default), like an expired signed link. */
  expire(id: string, status?: 403 | 404 | 410): void;
  isExpired(id: string): boolean;
  /** Counters of a path or absolute URL (zeros when never requested). */
  stats(pathOrUrl: string): PathStats;
  requests(pathOrUrl: string): number;
  bytesWritten(pathOrUrl: string): number;
  /** Responses of a path whose whole body was sent. */
  completed(pathOrUrl: string): number;
  /** Every path's counters. */
  allStats(): Record<string, PathStats>;
  /** Stops listening and drops every open connection (stalled and endless ones included). */
  close(): Promise<void>;
}

const MEDIA_PATH = /^\/media\/([A-Za-z0-9._-]{1,128})\/((video|cover)[A-Za-z0-9._-]*)$/;
const SizeSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const EXPIRED_BODIES: Record<number, { type: string; body: string }> = {
  403: {
    type: 'application/xml',
    body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
  },
  404: {
    type: 'application/xml',
    body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>',
  },
  410: { type: 'text/plain', body: 'Gone\n' },
};

/** Starts the simulator's HTTP server on 127.0.0.1 (by default on a free port). */
export async function startMediaServer(options: MediaServerOptions = {}): Promise<MediaServer> {
  const apiKey = options.apiKey ?? randomUUID();
  const defaultVideoSize = options.defaultVideoSize ?? 256 * 1024;
  const hugeCapBytes = options.hugeCapBytes ?? 64 * 1024 * 1024;
  const tasks = createSimulatedTaskBook();
  const counters = new Map<string, PathStats>();
  const behaviors = new Map<string, Behavior>();
  const firstSeen = new Map<string, number>();
  const expired = new Map<string, number>();
  /** Lifetime (ms after first seen) of ids that use `expire-after`. */
  const lifetimes = new Map<string, number>();

  const seen = (id: string) => {
    if (!firstSeen.has(id)) firstSeen.set(id, Date.now());
  };
  const statsOf = (path: string): PathStats => {
    let entry = counters.get(path);
    if (!entry) {
      entry = { requests: 0, bytesWritten: 0, completed: 0 };
      counters.set(path, entry);
    }
    return entry;
  };
  const toPath = (pathOrUrl: string) => (/^https?:/i.test(pathOrUrl) ? new URL(pathOrUrl).pathname : pathOrUrl);
  const noteBehavior = (id: string, behavior: Behavior) => {
    seen(id);
    if (behavior.kind === 'expire-after') lifetimes.set(id, behavior.ms);
  };
  const expiryStatus = (id: string): number | undefined => {
    const explicit = expired.get(id);
    if (explicit !== undefined) return explicit;
    const lifetime = lifetimes.get(id);
    const since = firstSeen.get(id) ?? Date.now();
    return lifetime !== undefined && Date.now() - since >= lifetime ? 403 : undefined;
  };
  const isExpired = (id: string): boolean => expiryStatus(id) !== undefined;
  const pathOf = (id: string, kind: MediaKind, file = MEDIA_FILES[kind].file) => `/media/${id}/${file}`;
  let origin = '';
  const lifecycle = createTaskLifecycle(
    {
      store: tasks,
      mediaUrl: (id, kind) => new URL(pathOf(id, kind), origin).toString(),
      expireMedia: (id) => expired.set(id, 403),
    },
    options.provider,
  );
  const api = createProviderApi({ store: tasks, apiKey, lifecycle, isExpired, options: options.provider ?? {} });

  const serveMedia = async (req: IncomingMessage, res: ServerResponse, url: URL, match: RegExpExecArray) => {
    const [, id = '', file = '', kindWord] = match;
    const kind: MediaKind = kindWord === 'cover' ? 'cover' : 'video';
    seen(id);
    const stats = statsOf(url.pathname);
    stats.requests += 1;
    const query = url.searchParams;
    const behavior =
      behaviors.get(`${id}/${kind}`) ?? behaviors.get(id) ?? parseBehavior(query.get('behavior') ?? 'ok');
    const size = SizeSchema.parse(query.get('size') ?? (kind === 'cover' ? tinyPng().length : defaultVideoSize));
    noteBehavior(id, behavior);
    const expiry = expiryStatus(id);
    if (expiry !== undefined) {
      const answer = EXPIRED_BODIES[expiry] ?? { type: 'text/plain', body: `${expiry}\n` };
      return sendText(res, expiry, answer.type, answer.body);
    }
    if (behavior.kind === 'flaky' && stats.requests <= behavior.failures) {
      return sendText(res, 503, 'text/plain', 'simulated flaky failure\n', { 'Retry-After': '1' });
    }
    if (behavior.kind === 'redirect' || behavior.kind === 'redirect-loop') {
      const hop = Number(query.get('hop') ?? 0);
      if (behavior.kind === 'redirect-loop' || hop < behavior.hops) {
        const next = new URLSearchParams(query);
        next.set('hop', String(behavior.kind === 'redirect-loop' ? (hop + 1) % 2 : hop + 1));
        // A relative reference (same directory), resolved by the client against this URL.
        return sendText(res, 302, 'text/plain', 'Found\n', { Location: `${file}?${next.toString()}` });
      }
    }
    if (behavior.kind === 'redirect-to') {
      return sendText(res, 302, 'text/plain', 'Found\n', { Location: behavior.location });
    }
    const controller = new AbortController();
    res.once('close', () => controller.abort());
    const contentType = query.get('type') ?? MEDIA_FILES[kind].contentType;
    await respondWith(
      { req, res, kind, size, seed: id, contentType, stats, hugeCapBytes, signal: controller.signal },
      behavior,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const match = MEDIA_PATH.exec(url.pathname);
    if (match && (req.method === 'GET' || req.method === 'HEAD')) return serveMedia(req, res, url, match);
    if (url.pathname.startsWith('/api/') && (await api.handle(req, res, url))) return;
    if (url.pathname === '/healthz') return sendText(res, 200, 'text/plain', 'ok\n');
    sendText(res, 404, 'text/plain', 'not found\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Bad query parameters (zod) are the caller's mistake; anything else is ours.
      const status = error instanceof z.ZodError ? 400 : 500;
      sendText(res, status, 'text/plain', `${error instanceof Error ? error.message : String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://${options.host ?? '127.0.0.1'}:${port}`;

  return {
    origin,
    port,
    apiKey,
    tasks,
    api,
    lifecycle,
    url: (id, kind, params = {}) => {
      seen(id);
      const target = new URL(pathOf(id, kind, params.file), origin);
      if (params.size !== undefined) target.searchParams.set('size', String(params.size));
      if (params.behavior !== undefined) {
        const behavior = typeof params.behavior === 'string' ? parseBehavior(params.behavior) : params.behavior;
        noteBehavior(id, behavior);
        target.searchParams.set('behavior', formatBehavior(behavior));
      }
      if (params.type !== undefined) target.searchParams.set('type', params.type);
      return target.toString();
    },
    pathOf,
    setBehavior: (id, behavior, kind) => {
      const parsed = typeof behavior === 'string' ? parseBehavior(behavior) : behavior;
      noteBehavior(id, parsed);
      behaviors.set(kind ? `${id}/${kind}` : id, parsed);
    },
    clearBehavior: (id, kind) => {
      behaviors.delete(kind ? `${id}/${kind}` : id);
    },
    expire: (id, status = 403) => {
      expired.set(id, status);
    },
    isExpired,
    stats: (pathOrUrl) => ({ ...statsOf(toPath(pathOrUrl)) }),
    requests: (pathOrUrl) => statsOf(toPath(pathOrUrl)).requests,
    bytesWritten: (pathOrUrl) => statsOf(toPath(pathOrUrl)).bytesWritten,
    completed: (pathOrUrl) => statsOf(toPath(pathOrUrl)).completed,
    allStats: () => Object.fromEntries([...counters].map(([path, stats]) => [path, { ...stats }])),
    close: async () => {
      lifecycle.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
