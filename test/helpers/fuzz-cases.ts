import { peekTaskId } from '@runway-relay/contracts';
import { expectedProviderSignature, signStandardWebhook } from '@runway-relay/ingress';
import fc from 'fast-check';

/*
 * The fuzzer's inject cases as fast-check arbitraries. An arbitrary yields a *recipe*: plain
 * data naming each choice (which variant, which mutation, which forgery), so a counterexample
 * prints readably and shrinks towards a clean signed callback. `buildCase` turns a recipe into
 * a request when it is sent: the task id comes from the sender (fresh for every send, so a
 * shrink attempt never collides with state an earlier attempt left in Redis) and timestamps
 * from the clock at that moment. `{id}` / `{ID}` in a recipe's values stand for the task id
 * (upper-cased for `{ID}`), so values that embed it stay plain data.
 */

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
  method: Method;
  url: string;
  headers: Headers;
  payload: string | Buffer;
}

type Method = 'POST' | 'GET' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';

/** `arb` `percent`% of the time, otherwise `undefined` (which is also what it shrinks to). */
function sometimes<T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(undefined) }, { weight: percent, arbitrary: arb });
}

/** Strings of `minLength`..`maxLength` UTF-16 code units of `alphabet` (an emoji may be split in halves). */
const codeUnits = (alphabet: string, minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...alphabet.split('')), minLength, maxLength });

const hexString = (length: number) => codeUnits('0123456789abcdef', length, length);

/** Replaces `{id}` / `{ID}` in every string of `value` by the task id; always returns a fresh copy. */
function withId(value: Json, id: string): Json {
  if (typeof value === 'string') return value.replaceAll('{id}', id).replaceAll('{ID}', id.toUpperCase());
  if (Array.isArray(value)) return value.map((item) => withId(item, id));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withId(item, id)]));
  return value;
}

type Variants = Record<string, fc.Arbitrary<object>>;

/** `{ kind, ...choices }` of one of `variants`: the union that a `switch (kind)` narrows. */
export type OneOf<V extends Variants> = {
  [K in keyof V & string]: { kind: K } & (V[K] extends fc.Arbitrary<infer T> ? T : never);
}[keyof V & string];

/** One of `variants`, each as likely, tagged with its key (which names it in labels and counterexamples). */
export function oneKind<V extends Variants>(variants: V): fc.Arbitrary<OneOf<V>> {
  const tagged = Object.entries(variants).map(([kind, arb]) => arb.map((choices) => ({ kind, ...choices })));
  return fc.oneof(...tagged) as fc.Arbitrary<OneOf<V>>;
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

/** Which well-formed callback to start from: one of the documented variants (docs/architecture.md §2). */
export type BaseRecipe =
  | { variant: 'success' | 'unknown' | 'aleph' | 'top-level' }
  | { variant: 'failure'; code: 400 | 500; msg: string };

/** Successes twice as often as each other variant. */
export const baseArb: fc.Arbitrary<BaseRecipe> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ variant: 'success' as const }) },
  fc.record({
    variant: fc.constant('failure' as const),
    code: fc.constantFrom(400 as const, 500 as const),
    msg: fc.constantFrom(...FAILURE_MESSAGES),
  }),
  fc.constant({ variant: 'unknown' as const }),
  fc.constant({ variant: 'aleph' as const }),
  fc.constant({ variant: 'top-level' as const }),
);

/** The callback of `base` for task `id`. */
export function baseBody(base: BaseRecipe, id: string): JsonObject {
  const video = `https://cdn.example.com/k/${id}.mp4?sig=x`;
  const image = `https://cdn.example.com/m/${id}.png?sig=x`;
  switch (base.variant) {
    case 'success':
      return {
        code: 200,
        msg: 'All generated successfully.',
        data: { task_id: id, video_id: `v-${id}`, video_url: video, image_url: image },
      };
    case 'failure':
      return { code: base.code, msg: base.msg, data: { task_id: id, video_id: '', video_url: '', image_url: '' } };
    case 'unknown':
      return { code: 302, msg: 'something else', data: { task_id: id } };
    case 'aleph':
      return { code: 200, msg: 'success', taskId: id, data: { result_video_url: video, result_image_url: image } };
    case 'top-level':
      return { code: 200, msg: 'ok', taskId: id, data: { task_id: id, callbackType: 'complete', video_url: video } };
  }
}

/** Mutations of the parsed shape, by label, with their choices. */
const structuralVariants = (limit: number) => ({
  'code-type': fc.record({
    code: fc.constantFrom<Json>('200', 200.5, null, {}, [200], true, -1, 2 ** 53 + 2, 1e300, 0),
  }),
  'data-type': fc.record({ data: fc.constantFrom<Json>([], 'data', 42, true, [{ task_id: 'x' }]) }),
  'task-id-type': fc.record({
    // Every variant but the number still names the case's own id, so stored state stays attributable.
    taskId: fc.oneof(
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xff_ffff }) },
      {
        weight: 12,
        arbitrary: fc.constantFrom<Json>(
          '',
          ' ',
          `{id}${'x'.repeat(200)}`,
          '{id}/../../etc/passwd',
          '../{id}',
          '{id}/a/b',
          '{id}\u0000',
          '{id}%2e%2e',
          ' {id} ',
          '{id}-🎬',
          ['{id}'],
          { id: '{id}' },
        ),
      },
    ),
  }),
  // Nine values, three of them long strings given as (char, length) so a counterexample stays readable.
  msg: fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        msg: fc.constantFrom<Json>(
          '動画の生成に成功しました 🎬🎥✨',
          'nul\u0000byte\u0000',
          'lone \ud800 surrogate',
          '\u202eRTL override',
          42,
          { nested: 'msg' },
        ),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.record({ char: fc.constant('x'), length: fc.constant(4097) }),
        fc.record({ char: fc.constant('y'), length: fc.integer({ min: 5000, max: limit - 500 }) }),
        fc.record({ char: fc.constant('z'), length: fc.integer({ min: limit + 1, max: limit + 5000 }) }),
      ),
    },
  ),
  'video-url': fc.record({
    url: fc.constantFrom<Json>(
      '',
      'ftp://cdn.example.com/x.mp4',
      'javascript:alert(1)',
      'http://127.0.0.1:6379/',
      `https://cdn.example.com/${'a'.repeat(5000)}`,
      'https://例え.jp/動画.mp4',
      12,
      null,
    ),
  }),
  remove: fc.record({ field: fc.constantFrom('code', 'data', 'msg', 'task_id', 'video_url') }),
  'conflicting-task-ids': fc.record({ taskId: fc.constantFrom<Json>('{id}-other', '{ID}', 7) }),
  'extra-fields': fc.record({
    keys: fc.array(codeUnits('abcdefXYZ_$-.🎬', 1, 12), { minLength: 1, maxLength: 5 }),
    trace: hexString(8),
  }),
  'null-data': fc.constant({}),
});

export type Structural = OneOf<ReturnType<typeof structuralVariants>>;
/** Every structural label (`remove` labels name the field: `remove-msg`). */
export const STRUCTURAL_KINDS = Object.keys(structuralVariants(1 << 20)); // any limit: only the keys are read

function dataOf(body: JsonObject, id: string): JsonObject {
  if (!isObject(body.data)) body.data = { task_id: id };
  return body.data as JsonObject;
}

/** Applies `m` to `body` in place; returns its label. */
function applyStructural(m: Structural, body: JsonObject, id: string): string {
  switch (m.kind) {
    case 'code-type':
      body.code = withId(m.code, id);
      break;
    case 'data-type':
      body.data = withId(m.data, id);
      break;
    case 'task-id-type':
      dataOf(body, id).task_id = withId(m.taskId, id);
      break;
    case 'msg':
      body.msg = 'char' in m ? m.char.repeat(m.length) : withId(m.msg, id);
      break;
    case 'video-url':
      dataOf(body, id).video_url = withId(m.url, id);
      break;
    case 'remove':
      if (m.field === 'task_id' || m.field === 'video_url') delete dataOf(body, id)[m.field];
      else delete body[m.field];
      return `remove-${m.field}`;
    case 'conflicting-task-ids':
      body.taskId = withId(m.taskId, id);
      break;
    case 'extra-fields':
      for (const key of m.keys) body[key] = id;
      dataOf(body, id).vendor = { trace: m.trace, list: [1, 'two', null] };
      break;
    case 'null-data':
      body.data = null;
      break;
  }
  return m.kind;
}

const INVALID_UTF8 = [
  [0xc3, 0x28],
  [0xff],
  [0xfe, 0xff],
  [0xed, 0xa0, 0x80],
  [0xc0, 0xaf],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];

/** Mutations of the serialized text (things a JSON value cannot hold). Offsets are taken modulo the text's length. */
const textualVariants = {
  truncated: fc.record({ cut: fc.nat() }),
  'trailing-garbage': fc.record({ tail: fc.constantFrom('}', ']]', ',', 'x', '\u0000', '{}') }),
  'invalid-utf8': fc.record({ bytes: fc.constantFrom(...INVALID_UTF8), at: fc.nat() }),
  'nul-outside-string': fc.record({ at: fc.nat() }),
  bom: fc.constant({}),
  'pad-to': fc.record({ target: fc.constantFrom('limit', 'limit+1', 'limit*2') }),
  'not-a-callback': fc.record({
    text: fc.constantFrom('a=b&c=d', 'null', '0', '"string"', '[]', 'true', '', ' ', '{}', '[{}]', 'NaN'),
  }),
  'prototype-keys': fc.record({
    member: fc.constantFrom(
      '"__proto__":{"polluted":"yes"}',
      '"constructor":{"prototype":{"polluted":"yes"}}',
      '"prototype":{"polluted":"yes"}',
      '"constructor":{"polluted":"yes"}',
      '"a":{"__proto__":{"polluted":"yes"}}',
    ),
    intoData: fc.boolean(),
  }),
  // A deep member, or now and then (`whole`) a body that is nothing but 10,000 nested arrays.
  deep: fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        depth: fc.constantFrom(64, 1000, 5000, 10_000),
        intoData: fc.boolean(),
        whole: fc.constant(false),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ depth: fc.constant(10_000), intoData: fc.constant(false), whole: fc.constant(true) }),
    },
  ),
};

export type Textual = OneOf<typeof textualVariants>;
/** Every textual label (`pad-to` and `deep` ones carry a suffix: `pad-to-limit`, `deep-extra-64`, `deep-body`). */
export const TEXTUAL_KINDS = Object.keys(textualVariants);
const textualArb = oneKind(textualVariants);

/** Inserts `"key":value` as the first member of the top-level object or of `data`. */
function insertMember(text: string, member: string, intoData: boolean): string {
  const at = intoData ? text.indexOf('"data":{') : -1;
  if (at >= 0) {
    const open = at + '"data":{'.length;
    return `${text.slice(0, open)}${member}${text[open] === '}' ? '' : ','}${text.slice(open)}`;
  }
  return text.startsWith('{') ? `{${member}${text[1] === '}' ? '' : ','}${text.slice(1)}` : text;
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Applies `m` to the serialized body; returns its label and the new payload. */
function applyTextual(m: Textual, text: string, limit: number): [string, string | Buffer] {
  switch (m.kind) {
    case 'truncated':
      return [m.kind, text.slice(0, m.cut % text.length)];
    case 'trailing-garbage':
      return [m.kind, `${text}${m.tail}`];
    case 'invalid-utf8': {
      const marker = text.indexOf('"msg":"');
      const at = marker >= 0 ? marker + '"msg":"'.length : m.at % (text.length + 1);
      return [
        m.kind,
        Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(m.bytes), Buffer.from(text.slice(at))]),
      ];
    }
    case 'nul-outside-string': {
      const at = m.at % (text.length + 1);
      return [m.kind, `${text.slice(0, at)}\u0000${text.slice(at)}`];
    }
    case 'bom':
      return [m.kind, `\ufeff${text}`];
    case 'pad-to': {
      // Whitespace is valid JSON: exactly at the limit must pass, one byte over must be 413.
      const target = { limit, 'limit+1': limit + 1, 'limit*2': limit * 2 }[m.target];
      return [
        `pad-to-${m.target === 'limit' ? 'limit' : 'over-limit'}`,
        text + ' '.repeat(Math.max(0, target - Buffer.byteLength(text))),
      ];
    }
    case 'not-a-callback':
      return [m.kind, m.text];
    case 'prototype-keys':
      return [m.kind, insertMember(text, m.member, m.intoData)];
    case 'deep':
      if (m.whole) return ['deep-body', nested(m.depth)];
      return [`deep-extra-${m.depth}`, insertMember(text, `"deep":${nested(m.depth)}`, m.intoData)];
  }
}

/** Zero mutations (a clean callback), only a textual one, or one or two structural ones and maybe a textual one. */
interface Mutations {
  structural: Structural[];
  textual: Textual | undefined;
}

const NO_MUTATIONS: Mutations = { structural: [], textual: undefined };

function mutationsArb(limit: number): fc.Arbitrary<Mutations> {
  return fc.oneof(
    { weight: 20, arbitrary: fc.constant(NO_MUTATIONS) },
    { weight: 30, arbitrary: fc.record({ structural: fc.constant<Structural[]>([]), textual: textualArb }) },
    {
      weight: 50,
      arbitrary: fc.record({
        structural: fc.array(oneKind(structuralVariants(limit)), { minLength: 1, maxLength: 2 }),
        textual: sometimes(textualArb, 30),
      }),
    },
  );
}

/** Authentication that is valid for what the ingress will read. */
type SignedAuth =
  | { signed: true; scheme: 'provider'; key: string; ageS: number }
  | { signed: true; scheme: 'standard'; secret: string; ageS: number };

/** Headers that look like authentication but are not valid, by label. */
const forgeryVariants = {
  'no-auth': fc.constant({}),
  'wrong-key': fc.constant({}),
  'other-task': fc.constant({}),
  stale: fc.record({ byS: fc.integer({ min: 1, max: 1_000_000 }) }),
  // At least two minutes beyond the tolerance, like the margins of signed cases.
  future: fc.record({ byS: fc.integer({ min: 120, max: 1_000_000 }) }),
  'odd-timestamp': fc.record({
    timestamp: fc.constantFrom('99999999999999999999', '-5', '{now}.5', '1e10', 'yesterday', ''),
  }),
  'no-timestamp': fc.constant({}),
  'no-signature': fc.constant({}),
  'garbage-signature': fc.record({
    signature: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('', '=', 'AAAA') },
      { weight: 1, arbitrary: codeUnits('abc+/=', 44, 44) },
    ),
  }),
  'cut-signature': fc.constant({}),
  'hex-signature': fc.constant({}),
  'duplicate-signature': fc.constant({}),
  'sw-wrong-secret': fc.constant({}),
  'sw-tampered-id': fc.constant({}),
  'sw-with-bad-provider': fc.constant({}),
};

type Forgery = OneOf<typeof forgeryVariants>;
type ForgedAuth = { signed: false; forgery: Forgery; key: string; secret: string };
/** Every forgery, labelled `forged:<kind>`. */
export const FORGERY_KINDS = Object.keys(forgeryVariants);

function signedAuthArb(s: FuzzSettings): fc.Arbitrary<SignedAuth> {
  // Margins on both sides of the tolerance, for the time between building and answering.
  const ageS = fc.integer({ min: -30, max: s.toleranceS - 120 });
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        signed: fc.constant(true as const),
        scheme: fc.constant('provider' as const),
        key: fc.constantFrom(...s.hmacKeys),
        ageS,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        signed: fc.constant(true as const),
        scheme: fc.constant('standard' as const),
        secret: fc.constantFrom(...s.webhookSecrets),
        ageS,
      }),
    },
  );
}

function forgedAuthArb(s: FuzzSettings): fc.Arbitrary<ForgedAuth> {
  return fc.record({
    signed: fc.constant(false as const),
    forgery: oneKind(forgeryVariants),
    key: fc.constantFrom(...s.hmacKeys),
    secret: fc.constantFrom(...s.webhookSecrets),
  });
}

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
  'x-webhook-signature': expectedProviderSignature(key, id, timestamp),
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

function signedHeaders(auth: SignedAuth, id: string, payload: string | Buffer, nowS: number): Headers {
  const timestamp = String(nowS - auth.ageS);
  if (auth.scheme === 'provider') return providerAuth(auth.key, readTaskId(payload) ?? id, timestamp);
  return standardAuth(auth.secret, payload, timestamp);
}

function forgedHeaders(auth: ForgedAuth, s: FuzzSettings, id: string, payload: string | Buffer, nowS: number): Headers {
  const now = String(nowS);
  const { forgery, key, secret } = auth;
  const good = () => expectedProviderSignature(key, id, now);
  switch (forgery.kind) {
    case 'no-auth':
      return {};
    case 'wrong-key':
      return providerAuth('not-the-key', id, now);
    case 'other-task':
      // Valid for a task the body never names (the mutations derive ids with other suffixes).
      return providerAuth(key, `${id}-forged`, now);
    case 'stale':
      return providerAuth(key, id, String(nowS - s.toleranceS - forgery.byS));
    case 'future':
      return providerAuth(key, id, String(nowS + s.toleranceS + forgery.byS));
    case 'odd-timestamp':
      return providerAuth(key, id, forgery.timestamp.replace('{now}', now));
    case 'no-timestamp':
      return { 'x-webhook-signature': good() };
    case 'no-signature':
      return { 'x-webhook-timestamp': now };
    case 'garbage-signature':
      return { 'x-webhook-timestamp': now, 'x-webhook-signature': forgery.signature };
    case 'cut-signature':
      return { 'x-webhook-timestamp': now, 'x-webhook-signature': good().slice(0, -2) };
    case 'hex-signature':
      return { 'x-webhook-timestamp': now, 'x-webhook-signature': Buffer.from(good(), 'base64').toString('hex') };
    case 'duplicate-signature':
      return { 'x-webhook-timestamp': now, 'x-webhook-signature': ['garbage', good()] };
    case 'sw-wrong-secret':
      return standardAuth('whsec_d3Jvbmctc2VjcmV0', payload, now);
    case 'sw-tampered-id':
      return { ...standardAuth(secret, payload, now), 'webhook-id': 'msg_tampered' };
    case 'sw-with-bad-provider':
      // The provider scheme is checked first when its header is present, whatever else is valid.
      return { ...standardAuth(secret, payload, now), 'x-webhook-signature': 'garbage' };
  }
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

/** Headers beside authentication and content type. */
interface OtherHeaders {
  custom: Array<[string, string]>;
  forwardedFor: string | undefined;
  requestId: string | undefined;
}

const otherHeadersArb: fc.Arbitrary<OtherHeaders> = fc.record({
  custom: fc.oneof(
    { weight: 70, arbitrary: fc.constant<Array<[string, string]>>([]) },
    {
      weight: 30,
      arbitrary: fc.array(fc.tuple(codeUnits(TOKEN, 1, 20), codeUnits(PRINTABLE, 0, 40)), {
        minLength: 1,
        maxLength: 3,
      }),
    },
  ),
  forwardedFor: sometimes(fc.constantFrom('127.0.0.1', '::1, 10.0.0.1', 'garbage', ''), 5),
  requestId: sometimes(fc.constantFrom('../../x', 'a'.repeat(100), 'ok-id', '\t'), 5),
});

const CALLBACK_PATHS = ['/callbacks/runway', '/runway-video-callback'];
const ODD_URLS = [
  '/callbacks/runway/token-x',
  '/callbacks/runway/../runway-video-callback',
  '/callbacks/runway?x=1&x=2',
  '/runway-video-callback?x=1&x=2',
  '/callbacks/RUNWAY',
  '//callbacks/runway',
  '/callbacks/runway%00',
  '/callbacks/runway%ZZ',
];

/** POST to a callback path, or now and then another method and maybe an odd URL. */
interface Target {
  path: string;
  odd: { method: Method; url: string | undefined } | undefined;
}

const targetArb: fc.Arbitrary<Target> = fc.record({
  path: fc.constantFrom(...CALLBACK_PATHS),
  odd: sometimes(
    fc.record({
      method: fc.constantFrom<Method>('POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      url: sometimes(fc.constantFrom(...ODD_URLS), 50),
    }),
    7,
  ),
});

/** Everything that decides one inject case, but its task id and the clock. */
export interface CaseRecipe {
  base: BaseRecipe;
  mutations: Mutations;
  auth: SignedAuth | ForgedAuth;
  other: OtherHeaders;
  /** undefined: `application/json`. */
  contentType: string | undefined;
  target: Target;
}

/** Inject cases: half signed, half forged, most of them mutated. */
function caseArb(s: FuzzSettings): fc.Arbitrary<CaseRecipe> {
  return fc.record({
    base: baseArb,
    mutations: mutationsArb(s.bodyLimit),
    auth: fc.oneof(signedAuthArb(s), forgedAuthArb(s)),
    other: otherHeadersArb,
    contentType: sometimes(fc.constantFrom(...CONTENT_TYPES), 15),
    target: targetArb,
  });
}

/** Signed, unmutated cases with a JSON content type: the ones the fuzzer sends twice. */
function cleanCaseArb(s: FuzzSettings): fc.Arbitrary<CaseRecipe> {
  return fc.record({
    base: baseArb,
    mutations: fc.constant(NO_MUTATIONS),
    auth: signedAuthArb(s),
    other: otherHeadersArb,
    contentType: fc.constant(undefined),
    target: targetArb,
  });
}

/** One step of a batch: a case sent once, or a clean one sent twice, concurrently or one after the other. */
export interface InjectStep {
  recipe: CaseRecipe;
  replay: 'none' | 'concurrent' | 'sequential';
}

/** ~3% of the steps send an exact duplicate. */
export function injectStepArb(s: FuzzSettings): fc.Arbitrary<InjectStep> {
  return fc.oneof(
    { weight: 97, arbitrary: fc.record({ recipe: caseArb(s), replay: fc.constant('none' as const) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        recipe: cleanCaseArb(s),
        replay: fc.constantFrom('concurrent' as const, 'sequential' as const),
      }),
    },
  );
}

/** Builds the request of `r` for task number `index`, signed (or forged) at `nowS`. */
export function buildCase(r: CaseRecipe, s: FuzzSettings, index: number, nowS: number): FuzzCase {
  const { signed } = r.auth;
  const taskId = `${signed ? 's' : 'u'}-${index.toString(36)}`;
  const labels: string[] = [];
  const body = baseBody(r.base, taskId);
  for (const m of r.mutations.structural) labels.push(applyStructural(m, body, taskId));
  let payload: string | Buffer = JSON.stringify(body);
  if (r.mutations.textual) {
    const [label, text] = applyTextual(r.mutations.textual, payload, s.bodyLimit);
    labels.push(label);
    payload = text;
  }
  let auth: Headers;
  if (r.auth.signed) {
    auth = signedHeaders(r.auth, taskId, payload, nowS);
  } else {
    labels.push(`forged:${r.auth.forgery.kind}`);
    auth = forgedHeaders(r.auth, s, taskId, payload, nowS);
  }
  const headers: Headers = Object.fromEntries(r.other.custom.map(([name, value]) => [`x-${name}`, value]));
  if (r.other.forwardedFor !== undefined) headers['x-forwarded-for'] = r.other.forwardedFor;
  if (r.other.requestId !== undefined) headers['x-request-id'] = r.other.requestId;
  Object.assign(headers, auth);
  if (r.contentType === undefined) headers['content-type'] = 'application/json';
  else {
    labels.push(`content-type:${r.contentType || 'missing'}`);
    if (r.contentType !== '') headers['content-type'] = r.contentType;
  }
  const method = r.target.odd?.method ?? 'POST';
  const url = r.target.odd?.url ?? r.target.path;
  return { index, labels, signed, taskId, method, url, headers, payload };
}
