import { peekTaskId } from '@runway-relay/contracts';
import { signProviderCallback, signStandardWebhook } from '@runway-relay/ingress';
import { hex, int, pick, type Rng, randomString } from './fuzz-random.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Headers = Record<string, string | string[]>;

/** What the ingress under test accepts, so the generator can sign correctly (or almost). */
export interface FuzzSettings {
  hmacKeys: readonly string[];
  webhookSecrets: readonly string[];
  toleranceS: number;
  bodyLimit: number;
}

/** One mutated request for `app.inject`. */
export interface FuzzCase {
  index: number;
  /** The mutations applied: named in failure reports. */
  labels: string[];
  /** Carries a valid signature over what the ingress will read; it may still fail elsewhere. */
  signed: boolean;
  /** `s-…` when signed, `u-…` otherwise, so stored state can be traced back to its sender. */
  taskId: string;
  method: 'POST' | 'GET' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';
  url: string;
  headers: Headers;
  payload: string | Buffer;
}

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const FAILURE_MESSAGES = [
  'Inappropriate content detected. Please replace the image or video.',
  'Your prompt was caught by our AI moderator.',
  '上传失败，网络原因',
  'Upload failed due to network reasons.',
  'Concurrent generation limit reached',
];

/** A well-formed callback in one of the documented variants (docs/architecture.md §2). */
export function baseBody(rng: Rng, id: string): JsonObject {
  const video = `https://cdn.example.com/k/${id}.mp4?sig=x`;
  const image = `https://cdn.example.com/m/${id}.png?sig=x`;
  switch (pick(rng, ['success', 'success', 'failure', 'unknown', 'aleph', 'top-level'] as const)) {
    case 'success':
      return {
        code: 200,
        msg: 'All generated successfully.',
        data: { task_id: id, video_id: `v-${id}`, video_url: video, image_url: image },
      };
    case 'failure':
      return {
        code: pick(rng, [400, 500]),
        msg: pick(rng, FAILURE_MESSAGES),
        data: { task_id: id, video_id: '', video_url: '', image_url: '' },
      };
    case 'unknown':
      return { code: 302, msg: 'something else', data: { task_id: id } };
    case 'aleph':
      return { code: 200, msg: 'success', taskId: id, data: { result_video_url: video, result_image_url: image } };
    case 'top-level':
      return { code: 200, msg: 'ok', taskId: id, data: { task_id: id, callbackType: 'complete', video_url: video } };
  }
}

function dataOf(body: JsonObject, id: string): JsonObject {
  if (!isObject(body.data)) body.data = { task_id: id };
  return body.data as JsonObject;
}

/** Mutations of the parsed shape; each returns its label. */
const STRUCTURAL: Array<(rng: Rng, body: JsonObject, id: string, limit: number) => string> = [
  (rng, body) => {
    body.code = pick(rng, ['200', 200.5, null, {}, [200], true, -1, 2 ** 53 + 2, 1e300, 0]);
    return 'code-type';
  },
  (rng, body) => {
    body.data = pick(rng, [[], 'data', 42, true, [{ task_id: 'x' }]]);
    return 'data-type';
  },
  (rng, body, id) => {
    // Every variant still names the case's own id, so stored state stays attributable.
    dataOf(body, id).task_id = pick(rng, [
      Number.parseInt(hex(rng, 6), 16),
      '',
      ' ',
      `${id}${'x'.repeat(200)}`,
      `${id}/../../etc/passwd`,
      `../${id}`,
      `${id}/a/b`,
      `${id}\u0000`,
      `${id}%2e%2e`,
      ` ${id} `,
      `${id}-🎬`,
      [id],
      { id },
    ]);
    return 'task-id-type';
  },
  (rng, body, _id, limit) => {
    body.msg = pick(rng, [
      '動画の生成に成功しました 🎬🎥✨',
      'nul\u0000byte\u0000',
      'lone \ud800 surrogate',
      '\u202eRTL override',
      'x'.repeat(4097),
      'y'.repeat(int(rng, 5000, limit - 500)),
      'z'.repeat(limit + int(rng, 1, 5000)),
      42,
      { nested: 'msg' },
    ]);
    return 'msg';
  },
  (rng, body, id) => {
    dataOf(body, id).video_url = pick(rng, [
      '',
      'ftp://cdn.example.com/x.mp4',
      'javascript:alert(1)',
      'http://127.0.0.1:6379/',
      `https://cdn.example.com/${'a'.repeat(5000)}`,
      'https://例え.jp/動画.mp4',
      12,
      null,
    ]);
    return 'video-url';
  },
  (rng, body, id) => {
    const field = pick(rng, ['code', 'data', 'msg', 'task_id', 'video_url'] as const);
    if (field === 'task_id' || field === 'video_url') delete dataOf(body, id)[field];
    else delete body[field];
    return `remove-${field}`;
  },
  (rng, body, id) => {
    body.taskId = pick(rng, [`${id}-other`, id.toUpperCase(), 7]);
    return 'conflicting-task-ids';
  },
  (rng, body, id) => {
    for (let i = int(rng, 1, 5); i > 0; i--) body[randomString(rng, int(rng, 1, 12), 'abcdefXYZ_$-.🎬')] = id;
    dataOf(body, id).vendor = { trace: hex(rng, 8), list: [1, 'two', null] };
    return 'extra-fields';
  },
  (_rng, body) => {
    body.data = null;
    return 'null-data';
  },
];

/** Inserts `"key":value` as the first member of the top-level object or of `data`. */
function insertMember(text: string, member: string, intoData: boolean): string {
  const at = intoData ? text.indexOf('"data":{') : -1;
  if (at >= 0) {
    const open = at + '"data":{'.length;
    return `${text.slice(0, open)}${member}${text[open] === '}' ? '' : ','}${text.slice(open)}`;
  }
  return text.startsWith('{') ? `{${member}${text[1] === '}' ? '' : ','}${text.slice(1)}` : text;
}

const INVALID_UTF8 = [
  [0xc3, 0x28],
  [0xff],
  [0xfe, 0xff],
  [0xed, 0xa0, 0x80],
  [0xc0, 0xaf],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];

/** Mutations of the serialized text (things a JSON value cannot hold); each returns its label. */
const TEXTUAL: Array<(rng: Rng, text: string, limit: number) => [string, string | Buffer]> = [
  (rng, text) => ['truncated', text.slice(0, int(rng, 0, text.length - 1))],
  (rng, text) => ['trailing-garbage', `${text}${pick(rng, ['}', ']]', ',', 'x', '\u0000', '{}'])}`],
  (rng, text) => {
    const bytes = Buffer.from(pick(rng, INVALID_UTF8));
    const marker = text.indexOf('"msg":"');
    const at = marker >= 0 ? marker + '"msg":"'.length : int(rng, 0, text.length);
    return ['invalid-utf8', Buffer.concat([Buffer.from(text.slice(0, at)), bytes, Buffer.from(text.slice(at))])];
  },
  (rng, text) => {
    const at = int(rng, 0, text.length);
    return ['nul-outside-string', `${text.slice(0, at)}\u0000${text.slice(at)}`];
  },
  (_rng, text) => ['bom', `\ufeff${text}`],
  (rng, text, limit) => {
    // Whitespace is valid JSON: exactly at the limit must pass, one byte over must be 413.
    const target = pick(rng, [limit, limit + 1, limit * 2]);
    return [
      `pad-to-${target === limit ? 'limit' : 'over-limit'}`,
      text + ' '.repeat(Math.max(0, target - Buffer.byteLength(text))),
    ];
  },
  (rng) => [
    'not-a-callback',
    pick(rng, ['a=b&c=d', 'null', '0', '"string"', '[]', 'true', '', ' ', '{}', '[{}]', 'NaN']),
  ],
  (rng, text) => {
    const member = pick(rng, [
      '"__proto__":{"polluted":"yes"}',
      '"constructor":{"prototype":{"polluted":"yes"}}',
      '"prototype":{"polluted":"yes"}',
      '"constructor":{"polluted":"yes"}',
      '"a":{"__proto__":{"polluted":"yes"}}',
    ]);
    return ['prototype-keys', insertMember(text, member, rng() < 0.5)];
  },
  (rng, text) => {
    const depth = pick(rng, [64, 1000, 5000, 10_000]);
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    if (depth === 10_000 && rng() < 0.3) return ['deep-body', deep];
    return [`deep-extra-${depth}`, insertMember(text, `"deep":${deep}`, rng() < 0.5)];
  },
];

/** The id the ingress will verify the signature against, as it will read it. */
function readTaskId(payload: string | Buffer): string | undefined {
  try {
    return peekTaskId(JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8')));
  } catch {
    return undefined;
  }
}

const providerAuth = (key: string, id: string, timestamp: string) => ({
  'x-webhook-timestamp': timestamp,
  'x-webhook-signature': signProviderCallback(key, id, timestamp),
});

function standardAuth(secret: string, payload: string | Buffer, timestamp: string) {
  const id = `msg_${timestamp}`;
  const body = typeof payload === 'string' ? payload : payload.toString('utf8');
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signStandardWebhook(secret, id, timestamp, body),
  };
}

function signedHeaders(rng: Rng, s: FuzzSettings, id: string, payload: string | Buffer, nowS: number) {
  // Margins on both sides: cases are generated up front and sent up to a minute later.
  const timestamp = String(nowS - int(rng, -30, s.toleranceS - 120));
  if (rng() < 0.75) return providerAuth(pick(rng, s.hmacKeys), readTaskId(payload) ?? id, timestamp);
  return standardAuth(pick(rng, s.webhookSecrets), payload, timestamp);
}

/** Headers that look like authentication but are not valid, with the forgery's name. */
function forgedHeaders(rng: Rng, s: FuzzSettings, id: string, payload: string | Buffer, nowS: number) {
  const now = String(nowS);
  const key = pick(rng, s.hmacKeys);
  const good = signProviderCallback(key, id, now);
  const secret = pick(rng, s.webhookSecrets);
  const forgeries: Array<[string, () => Headers]> = [
    ['no-auth', () => ({})],
    ['wrong-key', () => providerAuth('not-the-key', id, now)],
    // Valid for a task the body never names (the mutations derive ids with other suffixes).
    ['other-task', () => providerAuth(key, `${id}-forged`, now)],
    ['stale', () => providerAuth(key, id, String(nowS - s.toleranceS - int(rng, 1, 1_000_000)))],
    // At least two minutes beyond the tolerance: still outside when sent late in the run.
    ['future', () => providerAuth(key, id, String(nowS + s.toleranceS + int(rng, 120, 1_000_000)))],
    [
      'odd-timestamp',
      () => providerAuth(key, id, pick(rng, ['99999999999999999999', '-5', `${now}.5`, '1e10', 'yesterday', ''])),
    ],
    ['no-timestamp', () => ({ 'x-webhook-signature': good })],
    ['no-signature', () => ({ 'x-webhook-timestamp': now })],
    [
      'garbage-signature',
      () => ({
        'x-webhook-timestamp': now,
        'x-webhook-signature': pick(rng, ['', '=', 'AAAA', randomString(rng, 44, 'abc+/=')]),
      }),
    ],
    ['cut-signature', () => ({ 'x-webhook-timestamp': now, 'x-webhook-signature': good.slice(0, -2) })],
    [
      'hex-signature',
      () => ({ 'x-webhook-timestamp': now, 'x-webhook-signature': Buffer.from(good, 'base64').toString('hex') }),
    ],
    ['duplicate-signature', () => ({ 'x-webhook-timestamp': now, 'x-webhook-signature': ['garbage', good] })],
    ['sw-wrong-secret', () => standardAuth('whsec_d3Jvbmctc2VjcmV0', payload, now)],
    ['sw-tampered-id', () => ({ ...standardAuth(secret, payload, now), 'webhook-id': 'msg_tampered' })],
    // The provider scheme is checked first when its header is present, whatever else is valid.
    ['sw-with-bad-provider', () => ({ ...standardAuth(secret, payload, now), 'x-webhook-signature': 'garbage' })],
  ];
  const [label, headers] = pick(rng, forgeries);
  return { label: `forged:${label}`, headers: headers() };
}

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/json; charset=latin1',
  'application/JSON',
  'application/json;charset=utf-8',
  'application/jsonx',
  'application/vnd.api+json',
  '*/*',
  '',
];
const TOKEN = 'abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&*+.^`|~';
const PRINTABLE = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~';

function otherHeaders(rng: Rng): Record<string, string> {
  const headers: Record<string, string> = {};
  if (rng() < 0.3) {
    for (let i = int(rng, 1, 3); i > 0; i--)
      headers[`x-${randomString(rng, int(rng, 1, 20), TOKEN)}`] = randomString(rng, int(rng, 0, 40), PRINTABLE);
  }
  if (rng() < 0.05) headers['x-forwarded-for'] = pick(rng, ['127.0.0.1', '::1, 10.0.0.1', 'garbage', '']);
  if (rng() < 0.05) headers['x-request-id'] = pick(rng, ['../../x', 'a'.repeat(100), 'ok-id', '\t']);
  return headers;
}

function target(rng: Rng): Pick<FuzzCase, 'method' | 'url'> {
  const path = pick(rng, ['/callbacks/runway', '/runway-video-callback']);
  if (rng() < 0.93) return { method: 'POST', url: path };
  const odd = [
    '/callbacks/runway/token-x',
    '/callbacks/runway/../runway-video-callback',
    `${path}?x=1&x=2`,
    '/callbacks/RUNWAY',
    '//callbacks/runway',
    '/callbacks/runway%00',
    '/callbacks/runway%ZZ',
  ];
  return {
    method: pick(rng, ['POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const),
    url: rng() < 0.5 ? path : pick(rng, odd),
  };
}

/** Builds case `index`: a base callback, zero to two mutations of shape and text, and (forged) authentication. */
export function generateCase(rng: Rng, s: FuzzSettings, index: number, nowS: number): FuzzCase {
  const signed = rng() < 0.5;
  const taskId = `${signed ? 's' : 'u'}-${index.toString(36)}-${hex(rng, 6)}`;
  const labels: string[] = [];
  const body = baseBody(rng, taskId);
  const mutations = rng() < 0.2 ? 0 : int(rng, 1, 2);
  for (let i = 0; i < mutations; i++) {
    if (rng() < 0.5) labels.push(pick(rng, STRUCTURAL)(rng, body, taskId, s.bodyLimit));
  }
  let payload: string | Buffer = JSON.stringify(body);
  if (mutations > 0 && (labels.length === 0 || rng() < 0.3)) {
    const [label, text] = pick(rng, TEXTUAL)(rng, payload, s.bodyLimit);
    labels.push(label);
    payload = text;
  }
  let auth: Headers;
  if (signed) {
    auth = signedHeaders(rng, s, taskId, payload, nowS);
  } else {
    const forged = forgedHeaders(rng, s, taskId, payload, nowS);
    labels.push(forged.label);
    auth = forged.headers;
  }
  const headers: Headers = { ...otherHeaders(rng), ...auth };
  if (rng() < 0.85) headers['content-type'] = 'application/json';
  else {
    const type = pick(rng, CONTENT_TYPES);
    labels.push(`content-type:${type || 'missing'}`);
    if (type !== '') headers['content-type'] = type;
  }
  return { index, labels, signed, taskId, ...target(rng), headers, payload };
}
