import { Writable } from 'node:stream';
import { createTaskRegistry } from '@runway-relay/admission';
import { loadDashboardConfig, quarantineIdFor, registryTtlSeconds, relayKeys } from '@runway-relay/contracts';
import { createDashboard, type DashboardOverrides, type DashboardService } from '@runway-relay/dashboard';
import { generateSecret } from '@runway-relay/delivery';
import { startWebhookReceiver, waitFor } from '@runway-relay/testkit';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_PASSWORD, DASHBOARD_USER, dashboardAuth, dashboardStorageEnv } from './helpers/dashboard.js';
import { verifyReceived } from './helpers/delivery.js';
import { buildTestIngress, failureBody, providerHeaders, type TestIngress } from './helpers/ingress.js';
import { perFile, useBacking } from './helpers/per-file.js';
import { newTaskId, simulatedSuccess, startStack } from './helpers/stack.js';

/*
 * A hostile reviewer's probes of the admin API (docs/security.md, "The admin API under attack"),
 * with real HTTP against a dashboard built by `createDashboard`, and where delivery is involved
 * a real worker and a real receiver. One stack per describe. Every probe is a regression test:
 * it fails when a refusal disappears, and most check that a refused request changed nothing.
 */

const backing = useBacking();

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The JSON body, or `{}` when there is none. */
  json: Record<string, unknown>;
}

interface Dashboard {
  service: DashboardService;
  base: string;
  /** Every log line written so far, as text. */
  logs: string[];
  /** A real HTTP request; credentials unless `auth` says otherwise; `body` as JSON unless a string. */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; headers?: Record<string, string>; auth?: Record<string, string> | null },
  ): Promise<Answer>;
  close(): Promise<void>;
}

/** A log destination that appends each non-empty line written to `lines`. */
function logSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((line) => line.trim() !== ''),
      );
      done();
    },
  });
}

/** A dashboard through `createDashboard` on `stack`'s prefix (or a fresh one), its log lines kept. */
async function startDashboard(
  env: Record<string, string>,
  overrides: Omit<DashboardOverrides, 'logDestination'> = {},
): Promise<Dashboard> {
  const logs: string[] = [];
  const destination = logSink(logs);
  const config = loadDashboardConfig({
    DASHBOARD_HOST: '127.0.0.1',
    DASHBOARD_PORT: '0',
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    REDIS_URL: backing.redis.url,
    DASHBOARD_USER,
    DASHBOARD_PASSWORD,
    ...dashboardStorageEnv(backing.s3),
    ...env,
  });
  const service = createDashboard(config, { ...overrides, logDestination: destination });
  const { port } = await service.start();
  const base = `http://127.0.0.1:${port}`;
  return {
    service,
    base,
    logs,
    async call(method, path, options = {}) {
      const { body, auth = dashboardAuth } = options;
      const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const res = await request(`${base}${path}`, {
        method: method as 'GET',
        headers: {
          ...(auth ?? {}),
          ...(text === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
        ...(text === undefined ? {} : { body: text }),
      });
      const answer = await res.body.text();
      let json: Record<string, unknown> = {};
      try {
        json = answer === '' ? {} : (JSON.parse(answer) as Record<string, unknown>);
      } catch {
        // Not JSON (Bull Board's pages): `text` has it.
      }
      return { status: res.statusCode, headers: res.headers, text: answer, json };
    },
    close: () => service.close(),
  };
}

/** Every Redis key with its serialized value: equal snapshots mean nothing was written. */
async function snapshot(service: DashboardService): Promise<Map<string, string>> {
  const keys = (await service.redis.keys('*')).sort();
  const values = await Promise.all(keys.map((key) => service.redis.dumpBuffer(key)));
  return new Map(keys.map((key, i) => [key, values[i]?.toString('base64') ?? '']));
}

/**
 * The routes the app registered, from Fastify's own route tree, as `METHOD path`: a route
 * added later appears here without anyone listing it, so the checks below cover it.
 */
function registeredRoutes(app: FastifyInstance): Array<{ method: string; path: string }> {
  const parents: string[] = [];
  const routes: Array<{ method: string; path: string }> = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    const depth = (match[1] ?? '').length / 4;
    const path = (parents[depth - 1] ?? '') + (match[2] ?? '');
    parents.length = depth;
    parents.push(path);
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, path });
  }
  return routes;
}

/** A path with each parameter filled in (`:id` → `x1`, `*` → `x1`). */
const concrete = (path: string) => path.replace(/:[A-Za-z]+/g, 'x1').replace(/\*$/, 'x1');
const OPEN = new Set(['/healthz', '/readyz']);
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('every route needs credentials; every write refuses other sites', () => {
  let dashboard: Dashboard;
  let routes: Array<{ method: string; path: string }>;
  beforeAll(async () => {
    // Wrong credentials are sent to every route below: the throttle must not turn 401s into 429s.
    dashboard = await startDashboard({ QUEUE_PREFIX: 'hostile-auth', DASHBOARD_AUTH_MAX_FAILURES: '10000' });
    await dashboard.service.app.ready();
    routes = registeredRoutes(dashboard.service.app).filter((route) => !OPEN.has(route.path));
    // Something to destroy: an endpoint and a registered task.
    expect((await dashboard.call('POST', '/api/endpoints', { body: { url: 'https://93.184.216.34/h' } })).status).toBe(
      201,
    );
    expect((await dashboard.call('POST', '/api/tasks', { body: { task_id: 'task-1' } })).status).toBe(201);
  });
  afterAll(async () => {
    await dashboard?.close();
  });

  it('finds the routes from Fastify itself, the admin API and Bull Board included', () => {
    const names = routes.map((route) => `${route.method} ${route.path}`);
    for (const expected of [
      'POST /api/tasks',
      'POST /api/generate',
      'DELETE /api/endpoints/:id',
      'POST /api/deliveries/:id/replay',
      'POST /api/quarantine/:id/replay',
      'GET /api/events',
      'PUT /admin/queues/api/queues/:queueName/:jobId/retry',
      'POST /admin/queues/api/queues/:queueName/add',
      'GET /metrics',
    ]) {
      expect(names).toContain(expected);
    }
    expect(routes.length).toBeGreaterThan(60);
  });

  it('answers 401 with WWW-Authenticate to every route without or with wrong credentials; nothing changes', async () => {
    const before = await snapshot(dashboard.service);
    const unknown = [{ method: 'GET', path: '/api/no-such-route' }];
    for (const { method, path } of [...routes, ...unknown]) {
      for (const auth of [
        null,
        basic(DASHBOARD_USER, 'wrong'),
        basic('root', DASHBOARD_PASSWORD),
        { authorization: 'Basic' },
      ]) {
        const body = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined;
        const answer = await dashboard.call(method, concrete(path), { auth, body });
        expect(answer.status, `${method} ${path} with ${JSON.stringify(auth)}`).toBe(401);
        expect(answer.headers['www-authenticate']).toMatch(/^Basic realm="runway-relay"/);
        expect(answer.headers['set-cookie']).toBeUndefined();
      }
    }
    expect(await snapshot(dashboard.service)).toEqual(before);
  });

  it('refuses every state-changing route from another site or with a form body, credentials or not (403/415)', async () => {
    const before = await snapshot(dashboard.service);
    const writes = routes.filter((route) => !['GET', 'HEAD'].includes(route.method));
    expect(writes.length).toBeGreaterThan(25);
    const foreign: Array<[Record<string, string>, number, string]> = [
      [{ origin: 'https://evil.example' }, 403, 'cross_site_request'],
      [{ origin: 'null' }, 403, 'cross_site_request'],
      [{ origin: dashboard.base.replace('127.0.0.1', '127.0.0.1.evil.example') }, 403, 'cross_site_request'],
      [{ 'sec-fetch-site': 'cross-site' }, 403, 'cross_site_request'],
      [{ 'sec-fetch-site': 'same-site' }, 403, 'cross_site_request'],
      // What a cross-site <form> can send, without Origin (old browsers, privacy proxies).
      [{ 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
      [{ 'content-type': 'multipart/form-data; boundary=x' }, 415, 'unsupported_media_type'],
    ];
    for (const { method, path } of writes) {
      for (const [headers, status, error] of foreign) {
        const body = headers['content-type']?.startsWith('multipart')
          ? '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n{}\r\n--x--\r\n'
          : '{"keep":"accepted","since":"2025-01-01T00:00:00Z","url":"https://93.184.216.34/x"}';
        const answer = await dashboard.call(method, concrete(path), { body, headers });
        expect(answer.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(status);
        expect(answer.json.error).toBe(error);
        expect(answer.headers['set-cookie']).toBeUndefined();
      }
    }
    expect(await snapshot(dashboard.service)).toEqual(before);

    // The control: the dashboard's own page (same origin, JSON) may write.
    const own = await dashboard.call('POST', '/api/tasks', {
      body: { task_id: 'task-2' },
      headers: { origin: dashboard.base, 'sec-fetch-site': 'same-origin' },
    });
    expect(own.status).toBe(201);
  });
});

describe('input bounds of the admin API', () => {
  // An ingress for quarantined bodies, no worker: Redis holds still between snapshots.
  let ingress: TestIngress;
  let dashboard: Dashboard;
  let endpointId: string;
  beforeAll(async () => {
    ingress = await buildTestIngress(backing.redis.url);
    dashboard = await startDashboard({
      QUEUE_PREFIX: ingress.config.QUEUE_PREFIX,
      PROVIDER_API_URL: backing.media.origin,
      PROVIDER_API_KEY: 'sk-hostile',
      PUBLIC_CALLBACK_URL: 'https://relay.example/callbacks/runway',
    });
    const created = await dashboard.call('POST', '/api/endpoints', { body: { url: 'https://93.184.216.34/hooks' } });
    endpointId = String((created.json.endpoint as { id: string }).id);
  });
  afterAll(async () => {
    await dashboard?.close();
    await ingress?.close();
  });

  /** Answers `status` with `error`, its message naming `field`. */
  const refused = (answer: Answer, status: number, error: string, field: string | RegExp, label: string) => {
    expect(answer.status, `${label}: ${answer.text}`).toBe(status);
    expect(answer.json.error, label).toBe(error);
    expect(String(answer.json.message), label).toMatch(field);
  };

  /** A body, and the status and error it is refused with, the message naming `field`. */
  type Refusal = [body: unknown, status: number, error: string, field: string | RegExp];

  /** POSTs each case's body to `path`: every one is refused as its case says. */
  const refusesAll = async (path: string, cases: Refusal[]) => {
    for (const [body, status, error, field] of cases) {
      refused(await dashboard.call('POST', path, { body }), status, error, field, JSON.stringify(body).slice(0, 80));
    }
  };

  it('POST /api/tasks refuses bad ids, oversized or odd metadata and pollution keys; registers nothing', async () => {
    const before = await snapshot(dashboard.service);
    const labels = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']));
    const deep = `{"task_id":"t-deep","metadata":{"a":${'['.repeat(40)}${']'.repeat(40)}}}`;
    const cases: Refusal[] = [
      [{ task_id: 'a*' }, 400, 'invalid_request', /^task_id:/],
      [{ task_id: 'a:b' }, 400, 'invalid_request', /^task_id:/],
      [{ task_id: 'a{b}' }, 400, 'invalid_request', /^task_id:/],
      [{ task_id: 'a\nb' }, 400, 'invalid_request', /^task_id:/],
      [{ task_id: '../../x' }, 400, 'invalid_request', /^task_id:/],
      [{ task_id: ' padded' }, 400, 'invalid_request', /^task_id:/],
      [{ task_id: 'x'.repeat(129) }, 400, 'invalid_request', /^task_id:/],
      [{ task_id: 42 }, 400, 'invalid_request', /^task_id:/],
      [{ task_id: ['a'] }, 400, 'invalid_request', /^task_id:/],
      [{}, 400, 'invalid_request', /^task_id:/],
      [{ task_id: 't-extra', callBackUrl: 'x' }, 400, 'invalid_request', /callBackUrl/],
      [{ task_id: 't-many', metadata: labels(33) }, 400, 'invalid_request', /^metadata: at most 32 entries/],
      [{ task_id: 't-key', metadata: { ['k'.repeat(65)]: 'v' } }, 400, 'invalid_request', /^metadata/],
      [{ task_id: 't-value', metadata: { k: 'v'.repeat(1025) } }, 400, 'invalid_request', /^metadata\.k/],
      [{ task_id: 't-empty-key', metadata: { '': 'v' } }, 400, 'invalid_request', /^metadata/],
      [{ task_id: 't-number', metadata: { k: 1 } }, 400, 'invalid_request', /^metadata\.k/],
      [{ task_id: 't-object', metadata: { k: { a: 'b' } } }, 400, 'invalid_request', /^metadata\.k/],
      [{ task_id: 't-array', metadata: ['a'] }, 400, 'invalid_request', /^metadata/],
      [{ task_id: 't-model', metadata: { model: 'gpt' } }, 400, 'invalid_request', /^metadata\.model/],
      ['[]', 400, 'invalid_request', /^\(input\)/],
      ['"x"', 400, 'invalid_request', /^\(input\)/],
      ['1e999', 400, 'invalid_request', /^\(input\)/],
      ['{"task_id":', 400, 'invalid_json', /JSON/],
      ['{"task_id":"t-proto","metadata":{"__proto__":{"polluted":"yes"}}}', 400, 'invalid_json', /JSON/],
      ['{"task_id":"t-ctor","metadata":{"constructor":{"prototype":{"polluted":"yes"}}}}', 400, 'invalid_json', /JSON/],
      [deep, 400, 'body_too_deep', /deeper than 32 levels/],
      [JSON.stringify({ task_id: 't-huge', metadata: { k: 'v'.repeat(70_000) } }), 413, 'body_too_large', /.+/],
    ];
    await refusesAll('/api/tasks', cases);
    expect(await snapshot(dashboard.service)).toEqual(before);
    // The dashboard runs in this process: a pollution that got through would show here.
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();

    // Held rather than refused: keys that are only names on other objects, any Unicode, and a
    // duplicated key (JSON's rule, the last one counts) are plain labels of a valid id.
    const odd = {
      constructor: 'c',
      toString: 't',
      hasOwnProperty: 'h',
      'ключ 🔑': 'значение\u0000\u202e',
      k: '\ud800',
    };
    const registered = await dashboard.call('POST', '/api/tasks', { body: { task_id: 't-odd', metadata: odd } });
    expect(registered.status).toBe(201);
    const dup = await dashboard.call('POST', '/api/tasks', { body: '{"task_id":"t-first","task_id":"t-second"}' });
    expect(dup.json).toEqual({ task_id: 't-second', registered: true });
    const { config } = dashboard.service;
    const registry = createTaskRegistry({
      redis: dashboard.service.redis,
      keys: relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME),
      afterS: config.RECONCILE_AFTER_S,
      ttlSeconds: registryTtlSeconds(config),
    });
    expect((await registry.get('t-odd'))?.metadata).toEqual(odd);
  });

  it('POST /api/generate refuses a callBackUrl, bad fields and odd bodies before spending anything', async () => {
    const good = { prompt: 'a cat', duration: 5, quality: '720p', aspectRatio: '16:9' };
    const cases: Refusal[] = [
      [{ ...good, callBackUrl: 'https://evil.example/cb' }, 400, 'invalid_request', /callBackUrl/],
      [{ ...good, prompt: 'p'.repeat(1801) }, 400, 'invalid_request', /^prompt: cannot exceed 1800/],
      [{ ...good, prompt: '   ' }, 400, 'invalid_request', /^prompt: is required/],
      [{ ...good, duration: '5' }, 400, 'invalid_request', /^duration: must be 5 or 10/],
      [{ ...good, duration: 5.5 }, 400, 'invalid_request', /^duration/],
      [{ ...good, quality: '4k' }, 400, 'invalid_request', /^quality/],
      [{ ...good, imageUrl: 'javascript:alert(1)' }, 400, 'invalid_request', /^imageUrl/],
      [{ ...good, imageUrl: 'file:///etc/passwd' }, 400, 'invalid_request', /^imageUrl/],
      [{ ...good, waterMark: 'w'.repeat(65) }, 400, 'invalid_request', /^waterMark/],
      [{ ...good, metadata: { k: 7 } }, 400, 'invalid_request', /^metadata\.k/],
      [{ ...good, model: 'veo' }, 400, 'invalid_request', /model/],
      // An Aleph body is checked as Aleph's: a Runway body under "model": "aleph" is refused.
      [{ ...good, model: 'aleph' }, 400, 'invalid_request', /videoUrl/],
      ['[]', 400, 'invalid_request', /^\(input\)/],
      [`{"prompt":${'['.repeat(40)}${']'.repeat(40)}}`, 400, 'body_too_deep', /deeper than 32/],
      [JSON.stringify({ ...good, prompt: 'p'.repeat(70_000) }), 413, 'body_too_large', /.+/],
    ];
    await refusesAll('/api/generate', cases);
    expect(backing.media.requests('/api/v1/runway/generate')).toBe(0);
    expect(backing.media.requests('/api/v1/aleph/generate')).toBe(0);
  });

  it('endpoint settings: URL length, event types, limits and description are bounded; a refused change changes nothing', async () => {
    const url = 'https://93.184.216.34/hooks';
    const cases: Array<[Record<string, unknown>, number, string, string | RegExp]> = [
      [{ url: `https://93.184.216.34/${'a'.repeat(2048)}` }, 400, 'invalid_request', /^url: Too big/],
      // Under 2048 as typed, over it once percent-encoded: refused, not stored too long to read back.
      [{ url: `https://93.184.216.34/${'é'.repeat(1000)}` }, 422, 'endpoint_url_refused', /once normalised/],
      [{ url: 42 }, 400, 'invalid_request', /^url/],
      [
        { url, event_types: ['task.failed', 'task.failed'] },
        400,
        'invalid_request',
        /^event_types: must not name a type twice/,
      ],
      [{ url, event_types: Array(100).fill('task.failed') }, 400, 'invalid_request', /^event_types: Too big/],
      [{ url, event_types: ['*'] }, 400, 'invalid_request', /^event_types\.0/],
      [{ url, event_types: [''] }, 400, 'invalid_request', /^event_types\.0/],
      [{ url, event_types: 'task.failed' }, 400, 'invalid_request', /^event_types/],
      [{ url, description: 'd'.repeat(501) }, 400, 'invalid_request', /^description/],
      [{ url, description: ['d'] }, 400, 'invalid_request', /^description/],
      [{ url, enabled: 'true' }, 400, 'invalid_request', /^enabled/],
      [{ url, id: 'ep_mine' }, 400, 'invalid_request', /"id"/],
      [{ url, secret: 'whsec_short' }, 400, 'invalid_request', /^secret: must be whsec_/],
    ];
    for (const [value, label] of [
      [0, 'zero'],
      [-1, 'negative'],
      [1001, 'over'],
      [1.5, 'float'],
      ['5', 'string'],
      [1e308, 'huge'],
      [null, 'null'],
      [true, 'boolean'],
    ] as const) {
      cases.push([{ url, max_in_flight: value }, 400, 'invalid_request', /^max_in_flight/]);
      if (label !== 'null' && label !== 'over') {
        cases.push([{ url, rate_limit_per_s: value }, 400, 'invalid_request', /^rate_limit_per_s/]);
      }
    }
    cases.push([{ url, rate_limit_per_s: 10_001 }, 400, 'invalid_request', /^rate_limit_per_s/]);
    const before = await snapshot(dashboard.service);
    for (const [body, status, error, field] of cases) {
      const label = JSON.stringify(body).slice(0, 80);
      refused(await dashboard.call('POST', '/api/endpoints', { body }), status, error, field, `create ${label}`);
      const { url: _url, ...patch } = body;
      if (Object.keys(patch).length > 0 && !('secret' in patch) && !('id' in patch)) {
        refused(
          await dashboard.call('PATCH', `/api/endpoints/${endpointId}`, { body: patch }),
          status,
          error,
          field,
          `patch ${label}`,
        );
      }
    }
    refused(
      await dashboard.call('PATCH', `/api/endpoints/${endpointId}`, { body: {} }),
      400,
      'invalid_request',
      /nothing to change/,
      'empty patch',
    );
    refused(
      await dashboard.call('PATCH', `/api/endpoints/${endpointId}`, { body: { secret: generateSecret() } }),
      400,
      'invalid_request',
      /"secret"/,
      'secret by patch',
    );
    expect(await snapshot(dashboard.service)).toEqual(before);
    // The extremes that are allowed still are.
    const edge = await dashboard.call('PATCH', `/api/endpoints/${endpointId}`, {
      body: {
        max_in_flight: 1000,
        rate_limit_per_s: 10_000,
        event_types: ['task.failed', 'media.stored'],
        description: '🔑'.repeat(250),
      },
    });
    expect(edge.status).toBe(200);
  });

  it('the other writes take strict bodies: replay since, conflict side, reprocess reason, quarantine replay', async () => {
    const before = await snapshot(dashboard.service);
    const cases: Array<[string, unknown, RegExp]> = [
      [`/api/endpoints/${endpointId}/replay`, {}, /^since/],
      [`/api/endpoints/${endpointId}/replay`, { since: 'yesterday' }, /^since/],
      [`/api/endpoints/${endpointId}/replay`, { since: 1_700_000_000_000 }, /^since/],
      [`/api/endpoints/${endpointId}/replay`, { since: '2025-01-01T00:00:00Z', all: true }, /"all"/],
      ['/api/tasks/task-1/conflict', { keep: 'both' }, /^keep/],
      ['/api/tasks/task-1/conflict', {}, /^keep/],
      ['/api/tasks/task-1/reprocess', { reason: 'r'.repeat(501) }, /^reason/],
      ['/api/tasks/task-1/reprocess', { reason: 7 }, /^reason/],
      ['/api/tasks/task-1/reprocess', { force: true }, /"force"/],
      [`/api/quarantine/q_${'0'.repeat(32)}/replay`, { body: {}, keep: 1 }, /"keep"/],
    ];
    for (const [path, body, field] of cases) {
      refused(
        await dashboard.call('POST', path, { body }),
        400,
        'invalid_request',
        field,
        `${path} ${JSON.stringify(body)}`,
      );
    }
    expect(await snapshot(dashboard.service)).toEqual(before);
  });

  it('list routes refuse garbage cursors and limits with 400 naming the parameter', async () => {
    const bad: Array<[string, RegExp]> = [
      ['/api/tasks?limit=1e9', /^limit/],
      ['/api/tasks?limit=-1', /^limit/],
      ['/api/tasks?limit=0', /^limit/],
      ['/api/tasks?limit=1.5', /^limit/],
      ['/api/tasks?limit=abc', /^limit/],
      ['/api/tasks?limit=1&limit=2', /^limit/],
      ['/api/tasks?cursor=*', /^cursor/],
      [`/api/tasks?cursor=${Buffer.from('{"s":1e400,"id":"x"}').toString('base64url')}`, /^cursor/],
      [`/api/tasks?cursor=${'A'.repeat(600)}`, /^cursor/],
      ['/api/tasks?since=yesterday', /^since/],
      ['/api/tasks?since=9999999999999999', /^since/],
      ['/api/tasks?status=*', /^status/],
      ['/api/tasks?nope=1', /nope/],
      [`/api/endpoints/${endpointId}/messages?cursor=garbage`, /^cursor/],
      [`/api/endpoints/${endpointId}/messages?cursor=${Buffer.from('1:msg_*').toString('base64url')}`, /^cursor/],
      [`/api/endpoints/${endpointId}/messages?limit=1e9`, /^limit/],
      [`/api/endpoints/${endpointId}/messages?status=*`, /^status/],
      ['/api/quarantine?offset=-1', /^offset/],
      ['/api/quarantine?limit=1e9', /^limit/],
      ['/api/events?limit=1e9', /^limit/],
      ['/api/events?since=*', /^since/],
      ['/api/events?since=1-2-3', /^since/],
      // Stream ids are two unsigned 64-bit numbers: larger ones made Redis fail (500) before.
      ['/api/events?since=99999999999999999999-0', /^since: parts must be at most 2\^64 - 1/],
      ['/api/events?since=0-18446744073709551616', /^since: parts must be at most 2\^64 - 1/],
    ];
    for (const [path, field] of bad) refused(await dashboard.call('GET', path), 400, 'invalid_request', field, path);
    // The last id a stream can hold: nothing is after it (Redis refuses the exclusive range).
    const last = '18446744073709551615-18446744073709551615';
    expect((await dashboard.call('GET', `/api/events?since=${last}`)).json).toEqual({ events: [], next: last });
    expect((await dashboard.call('GET', '/api/events?since=18446744073709551615')).status).toBe(200);
  });

  it('ids with traversal or Redis key characters are refused (400) before any lookup; Bull Board never 5xx', async () => {
    const ids = ['*', 'a:b', '%7Bx%7D', 'a%0Ab', '..%2F..%2Fx', '%00', 'a%20b', 'x'.repeat(129)];
    for (const id of ids) {
      for (const [method, path] of [
        ['GET', `/api/tasks/${id}`],
        ['GET', `/api/tasks/${id}/deliveries`],
        ['POST', `/api/tasks/${id}/retry`],
        ['POST', `/api/tasks/${id}/reprocess`],
        ['GET', `/api/endpoints/${id}`],
        ['DELETE', `/api/endpoints/${id}`],
        ['POST', `/api/endpoints/${id}/rotate-secret`],
        ['GET', `/api/quarantine/${id}`],
        ['POST', `/api/quarantine/${id}/replay`],
        ['POST', `/api/deliveries/${id}/replay`],
        ['POST', `/api/deliveries/msg_${id}/replay`],
      ] as const) {
        const answer = await dashboard.call(method, path);
        expect(answer.status, `${method} ${path}`).toBe(400);
        expect(answer.json.error).toBe('invalid_request');
      }
      const queue = ingress.config.QUEUE_NAME;
      for (const [method, path] of [
        ['GET', `/admin/queues/api/queues/${queue}/${id}`],
        ['PUT', `/admin/queues/api/queues/${queue}/${id}.success/retry`],
        ['GET', `/admin/queues/api/queues/${id}/x1`],
      ] as const) {
        const answer = await dashboard.call(method, path);
        expect(answer.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(answer.status, `${method} ${path}`).toBeLessThan(500);
      }
    }
    // The longest valid task id (128 characters) is looked up, not cut off by the router's
    // parameter limit (Fastify's default of 100 answered 414 before), in Bull Board's job ids too.
    const longest = 'a'.repeat(128);
    expect((await dashboard.call('POST', '/api/tasks', { body: { task_id: longest } })).status).toBe(201);
    for (const [method, path] of [
      ['GET', `/api/tasks/${longest}`],
      ['GET', `/api/tasks/${longest}/deliveries`],
      ['POST', `/api/tasks/${longest}/retry`],
      ['GET', `/admin/queues/api/queues/${ingress.config.QUEUE_NAME}/${longest}.success`],
    ] as const) {
      expect((await dashboard.call(method, path)).status, `${method} ${path}`).toBe(404);
    }
    // A parameter far longer than any id is refused by the router itself.
    expect((await dashboard.call('GET', `/api/tasks/${'a'.repeat(1000)}`)).status).toBe(414);
  });

  it('an edited quarantine replay and a Bull Board job are bounded like a callback: too deep 400, too big 413', async () => {
    const taskId = newTaskId();
    const body = simulatedSuccess(backing.media, taskId);
    const broken = { ...body, data: { ...body.data, video_url: '' } };
    const delivered = await request(`${ingress.url}/callbacks/runway`, {
      method: 'POST',
      headers: providerHeaders(taskId),
      body: JSON.stringify(broken),
    });
    await delivered.body.dump();
    expect(delivered.statusCode).toBe(422);
    const id = quarantineIdFor(JSON.stringify(broken));
    const before = await snapshot(dashboard.service);

    const deep = JSON.stringify({ body: { ...body, extra: 'DEEP' } }).replace(
      '"DEEP"',
      `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    );
    const tooDeep = await dashboard.call('POST', `/api/quarantine/${id}/replay`, { body: deep });
    refused(tooDeep, 400, 'body_too_deep', /nothing changed/, 'deep replay');
    const huge = await dashboard.call('POST', `/api/quarantine/${id}/replay`, {
      body: { body: { ...body, extra: 'x'.repeat(70_000) } },
    });
    refused(huge, 413, 'body_too_large', /.+/, 'huge replay');

    const queue = ingress.config.QUEUE_NAME;
    const deepJob = await dashboard.call('POST', `/admin/queues/api/queues/${queue}/add`, {
      body: `{"name":"x","data":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
    });
    refused(deepJob, 400, 'body_too_deep', /deeper than 32/, 'deep job');
    const bigJob = await dashboard.call('POST', `/admin/queues/api/queues/${queue}/add`, {
      body: { name: 'x', data: { a: 'x'.repeat(70_000) } },
    });
    expect(bigJob.status).toBe(413);
    expect(await snapshot(dashboard.service)).toEqual(before);
    // Still there, and a correct replay is admitted.
    expect((await dashboard.call('POST', `/api/quarantine/${id}/replay`, { body: { body } })).status).toBe(202);
  });
});

/**
 * A describe's webhook scene, started before its tests and closed after them: a receiver, a
 * stack (ingress and a worker that delivers) on `env`, and this file's dashboard on its queue.
 */
function useWebhookScene(
  env: Record<string, string>,
  options: { overrides?: Omit<DashboardOverrides, 'logDestination'>; workerLogDestination?: Writable } = {},
) {
  return perFile(
    async () => {
      const receiver = await startWebhookReceiver();
      const stack = await startStack(
        backing,
        env,
        options.workerLogDestination ? { workerLogDestination: options.workerLogDestination } : {},
      );
      const dashboard = await startDashboard(
        { QUEUE_PREFIX: stack.prefix, EVENTS_STREAM: stack.stream, ...env },
        options.overrides,
      );
      return { receiver, stack, dashboard };
    },
    async ({ receiver, stack, dashboard }) => {
      await dashboard.close();
      await stack.close();
      await receiver.close();
    },
  );
}

interface DeliveryRow {
  status: string;
  attempt_log: Array<{ http_status: number | null; error: string }>;
}

/** The task's first webhook delivery, as GET /api/tasks/:id/deliveries lists it, once it has `status`. */
function deliveryOnceIn(dashboard: Dashboard, taskId: string, status: string): Promise<DeliveryRow> {
  return waitFor(
    async () => {
      const answer = await dashboard.call('GET', `/api/tasks/${taskId}/deliveries`);
      const [first] = (answer.json.deliveries ?? []) as DeliveryRow[];
      return first?.status === status ? first : null;
    },
    { timeoutMs: 20_000, description: `the delivery of ${taskId} to be ${status}` },
  );
}

/** Addresses of the endpoints' URL check: a test's own "DNS". */
const NAMES: Record<string, string[]> = {
  'hooks.partner.example': ['127.0.0.1'],
  'mixed.partner.example': ['93.184.216.34', '10.0.0.7'],
  'mapped.partner.example': ['::ffff:169.254.169.254'],
  'nothing.partner.example': [],
  'public.partner.example': ['93.184.216.34'],
  // Public when the endpoint is created, 127.0.0.1 when the worker connects (real DNS): rebinding.
  localhost: ['93.184.216.34'],
};
const resolveHost = async (host: string) => {
  const addresses = NAMES[host];
  if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return addresses;
};

describe('webhook endpoint SSRF, DELIVERY_ALLOW_PRIVATE unset', () => {
  // Plain http allowed so that the address, not the scheme, is what gets judged.
  const scene = useWebhookScene(
    { DELIVERY_ALLOW_HTTP: 'true', DELIVERY_ATTEMPTS: '3', DELIVERY_BACKOFF_MS: '20', DELIVERY_TIMEOUT_MS: '2000' },
    { overrides: { resolveHost } },
  );

  const create = (url: string) => scene.dashboard.call('POST', '/api/endpoints', { body: { url } });

  it('refuses loopback, private, metadata and smuggled addresses in every spelling (422 naming the address)', async () => {
    const { dashboard } = scene;
    const cases: Array<[string, string]> = [
      ['http://127.0.0.1/', '127.0.0.1'],
      ['http://127.1/', '127.0.0.1'],
      ['http://2130706433/', '127.0.0.1'],
      ['http://0x7f.1/', '127.0.0.1'],
      ['http://0x7f000001/', '127.0.0.1'],
      ['http://0177.0.0.1/', '127.0.0.1'],
      ['http://127.0.0.1.:8080/', '127.0.0.1'],
      ['http://0/', '0.0.0.0'],
      ['http://0.0.0.0/', '0.0.0.0'],
      ['http://[::1]/', '::1'],
      ['http://[::]/', '::'],
      ['http://[0:0:0:0:0:0:0:1]/', '::1'],
      ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
      ['http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe'],
      ['http://[64:ff9b::a9fe:a9fe]/', '64:ff9b::a9fe:a9fe'],
      ['http://[2002:7f00:1::]/', '2002:7f00:1::'],
      ['http://[fc00::1]/', 'fc00::1'],
      ['http://[fe80::1]/', 'fe80::1'],
      ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
      ['http://168.63.129.16/', '168.63.129.16'],
      ['http://100.64.0.1/', '100.64.0.1'],
      ['http://10.0.0.1/', '10.0.0.1'],
      ['http://172.16.0.1/', '172.16.0.1'],
      ['http://192.168.1.1/', '192.168.1.1'],
      ['http://224.0.0.1/', '224.0.0.1'],
      ['http://255.255.255.255/', '255.255.255.255'],
      ['http://hooks.partner.example/', 'resolves to 127.0.0.1'],
      ['http://HOOKS.Partner.Example./', 'does not resolve'],
      ['http://mixed.partner.example/', 'resolves to 10.0.0.7'],
      ['http://mapped.partner.example/', 'resolves to ::ffff:169.254.169.254'],
      ['http://nothing.partner.example/', 'does not resolve'],
      ['http://unknown.partner.example/', 'does not resolve'],
    ];
    for (const [url, reason] of cases) {
      const answer = await create(url);
      expect(answer.status, url).toBe(422);
      expect(answer.json.error).toBe('endpoint_url_refused');
      expect(String(answer.json.message), url).toContain(reason);
    }
    expect((await dashboard.call('GET', '/api/endpoints')).json).toEqual({ endpoints: [] });
  });

  it('refuses other schemes and credentials; stores the URL it judged, in canonical form', async () => {
    const { dashboard } = scene;
    for (const url of [
      'ftp://93.184.216.34/',
      'file:///etc/passwd',
      'gopher://93.184.216.34/',
      'javascript:alert(1)',
      'ws://93.184.216.34/',
      'data:,x',
    ]) {
      const answer = await create(url);
      expect(answer.status, url).toBe(400);
      expect(String(answer.json.message), url).toMatch(/^url: /);
    }
    for (const url of ['http://user:pw@93.184.216.34/', 'http://user@93.184.216.34/', 'http://:pw@93.184.216.34/']) {
      const answer = await create(url);
      expect(answer.status, url).toBe(422);
      expect(answer.json.message).toBe('url: url must not carry credentials');
      expect(answer.text).not.toContain('pw');
    }
    for (const [typed, stored] of <Array<[string, string]>>[
      ['http://:@93.184.216.34/', 'http://93.184.216.34/'],
      ['http://93.184.216.34\\@127.0.0.1/', 'http://93.184.216.34/@127.0.0.1/'],
      ['HTTP://Public.Partner.Example:80/a/../b', 'http://public.partner.example/b'],
    ]) {
      const answer = await create(typed);
      expect(answer.status, typed).toBe(201);
      expect((answer.json.endpoint as { url: string }).url).toBe(stored);
    }
    // A change to an inside address is refused and the endpoint keeps its URL.
    const { json } = await create('https://public.partner.example/hooks');
    const id = (json.endpoint as { id: string }).id;
    const patch = await dashboard.call('PATCH', `/api/endpoints/${id}`, {
      body: { url: 'http://hooks.partner.example/' },
    });
    expect(patch.status).toBe(422);
    expect(((await dashboard.call('GET', `/api/endpoints/${id}`)).json.endpoint as { url: string }).url).toBe(
      'https://public.partner.example/hooks',
    );
    for (const endpoint of (await dashboard.call('GET', '/api/endpoints')).json.endpoints as Array<{ id: string }>) {
      expect((await dashboard.call('DELETE', `/api/endpoints/${endpoint.id}`)).status).toBe(204);
    }
  });

  it('never connects to a name that resolved publicly at creation and to 127.0.0.1 at delivery (DNS rebinding)', async () => {
    const { dashboard, stack, receiver } = scene;
    const created = await create(`http://localhost:${receiver.port}/hooks`);
    expect(created.status).toBe(201);
    const taskId = newTaskId();
    expect((await stack.deliver(failureBody(taskId))).status).toBe(200);
    const delivery = await deliveryOnceIn(dashboard, taskId, 'failed');
    // Refused at connect time, once: a forbidden address does not become public by retrying.
    expect(delivery.attempt_log).toHaveLength(1);
    expect(delivery.attempt_log[0]?.error).toMatch(/^blocked: refused to connect to forbidden address localhost/);
    expect(receiver.connections()).toBe(0);
  });
});

describe('webhook redirects', () => {
  // The receivers listen on 127.0.0.1: private addresses allowed, so only the redirect rule is tested.
  const scene = useWebhookScene({
    DELIVERY_ALLOW_HTTP: 'true',
    DELIVERY_ALLOW_PRIVATE: 'true',
    DELIVERY_ATTEMPTS: '2',
    DELIVERY_BACKOFF_MS: '20',
    DELIVERY_TIMEOUT_MS: '2000',
  });
  /** Where the scene's receiver redirects to. */
  const target = perFile(
    () => startWebhookReceiver(),
    (receiver) => receiver.close(),
  );

  it('does not follow a 3xx: each is a failed attempt, the Location is never contacted', async () => {
    const { dashboard, stack, receiver: redirecting } = scene;
    redirecting.always((_request, response) => response.writeHead(307, { location: target.url }).end());
    expect((await dashboard.call('POST', '/api/endpoints', { body: { url: redirecting.url } })).status).toBe(201);
    const taskId = newTaskId();
    expect((await stack.deliver(failureBody(taskId))).status).toBe(200);
    const delivery = await deliveryOnceIn(dashboard, taskId, 'failed');
    expect(delivery.attempt_log.map((attempt) => [attempt.http_status, attempt.error])).toEqual([
      [307, 'HTTP 307'],
      [307, 'HTTP 307'],
    ]);
    expect(redirecting.received).toHaveLength(2);
    expect(target.connections()).toBe(0);
  });
});

describe('signing secrets are never shown twice nor logged', () => {
  const workerLogs: string[] = [];
  const scene = useWebhookScene(
    { DELIVERY_ALLOW_HTTP: 'true', DELIVERY_ALLOW_PRIVATE: 'true', DELIVERY_BACKOFF_MS: '20', LOG_LEVEL: 'debug' },
    { workerLogDestination: logSink(workerLogs) },
  );

  it('shows a secret in its create or rotate answer only; never in reads, errors or the logs of either service', async () => {
    const { dashboard, stack, receiver } = scene;
    const chosen = generateSecret();
    const created = await dashboard.call('POST', '/api/endpoints', {
      body: { url: receiver.url, secret: chosen, description: 'mine' },
    });
    expect(created.status).toBe(201);
    expect(created.json.secret).toBe(chosen);
    const id = (created.json.endpoint as { id: string }).id;

    // Refusals that carry a secret in the body do not repeat it.
    const other = generateSecret();
    const refusals = [
      await dashboard.call('POST', '/api/endpoints', { body: { url: 'ftp://x/', secret: other } }),
      await dashboard.call('POST', '/api/endpoints', { body: { url: receiver.url, secret: `${other}!` } }),
      await dashboard.call('POST', '/api/endpoints', { body: { url: other } }),
      await dashboard.call('PATCH', `/api/endpoints/${id}`, { body: { secret: other } }),
      await dashboard.call('PATCH', `/api/endpoints/${id}`, { body: { description: other.repeat(20) } }),
    ];
    for (const answer of refusals) expect(answer.status).toBe(400);

    const rotated = await dashboard.call('POST', `/api/endpoints/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const current = String(rotated.json.secret);
    expect(current).not.toBe(chosen);
    expect(JSON.stringify(rotated.json.endpoint)).not.toContain(current.slice(6, 30));

    const taskId = newTaskId();
    expect((await stack.deliver(failureBody(taskId))).status).toBe(200);
    await waitFor(() => receiver.received.length >= 1, { description: 'the delivery' });
    expect(() => verifyReceived(current, receiver.received[0] as never)).not.toThrow();
    await deliveryOnceIn(dashboard, taskId, 'delivered');

    const messages = await dashboard.call('GET', `/api/endpoints/${id}/messages`);
    expect(messages.json.messages).toHaveLength(1);
    const reads = [
      ...refusals,
      messages,
      await dashboard.call('GET', '/api/endpoints'),
      await dashboard.call('GET', `/api/endpoints/${id}`),
      await dashboard.call('PATCH', `/api/endpoints/${id}`, { body: { description: 'changed' } }),
      await dashboard.call('GET', `/api/tasks/${taskId}/deliveries`),
      await dashboard.call('GET', `/api/tasks/${taskId}`),
      await dashboard.call('GET', '/api/events'),
      await dashboard.call(
        'GET',
        `/admin/queues/api/queues?activeQueue=${dashboard.service.delivery.queue.name}&status=latest&page=1&jobsPerPage=50`,
      ),
    ];
    // The key part of each secret (after `whsec_`), and a good slice of it, appear nowhere.
    const texts = [...reads.map((answer) => answer.text), ...dashboard.logs, ...workerLogs];
    for (const secret of [chosen, other, current]) {
      const key = secret.slice('whsec_'.length);
      for (const text of texts) {
        expect(text).not.toContain(key.slice(0, 16));
        expect(text).not.toContain(key.slice(-16));
      }
    }
    expect(dashboard.logs.join('\n')).toContain('endpoint secret rotated');
    expect(workerLogs.join('\n')).toContain('webhook delivered');
  });
});
