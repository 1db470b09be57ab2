/*
 * Ingress fuzz: ~10,000 mutated requests through `inject` and ~300 raw ones on a socket, against
 * a real ingress on a real redis-server. fast-check generates them (test/helpers/fuzz-cases.ts,
 * fuzz-raw.ts): each property run is a batch of up to 32 cases sent concurrently (exact
 * duplicates of clean signed ones among them, concurrent or one after the other), and a batch
 * fails as soon as one answer breaks an invariant, so fast-check shrinks it to a small one.
 *
 * Replay: the seed is printed first (`[fuzz] seed <n>`); `FUZZ_SEED=<n> npx vitest run
 * test/ingress-fuzz.test.ts` repeats that run (without it the seed is fixed). A failure also
 * prints fast-check's path; `FUZZ_SEED=<n> FUZZ_PATH=<inject|raw>:<path>` then starts that
 * property at the failing batch and shrinks it again. The tally of every request sent
 * (shrink attempts included) goes to .tmp/fuzz-summary.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type RedisServerHarness, startRedisServer } from '@runway-relay/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildCase,
  FORGERY_KINDS,
  type FuzzCase,
  type FuzzSettings,
  type InjectStep,
  injectStepArb,
  STRUCTURAL_KINDS,
  TEXTUAL_KINDS,
} from './helpers/fuzz-cases.js';
import { buildRawCase, RAW_KINDS, type RawRecipe, rawCaseArb, sendRaw } from './helpers/fuzz-raw.js';
import { buildTestIngress, jobIds, TEST_HMAC_KEY, type TestIngress } from './helpers/ingress.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
/** `<inject|raw>:<path>`: where fast-check reported the failing batch of that property. */
const [PATH_PROPERTY, PATH] = (process.env.FUZZ_PATH ?? '').split(/:(.*)/);
/** Largest batch: its cases are in flight together. */
const BATCH = 32;
/** Property runs; batches average ~16.5 cases, so ~10,000 inject and ~300 raw requests. */
const INJECT_RUNS = 600;
const RAW_RUNS = 18;
const HMAC_KEYS = [TEST_HMAC_KEY, 'rotated-key-0123456789abcdef'];
const WEBHOOK_SECRET = `whsec_${Buffer.from('fuzz-standard-webhooks-secret-32b').toString('base64')}`;
const SUMMARY_FILE = fileURLToPath(new URL('../.tmp/fuzz-summary.json', import.meta.url));

interface Outcome {
  status: number | null;
  body: string;
  /** Node's parser may answer malformed requests itself (non-JSON 400/431). */
  parserLevel: boolean;
  mayNotAnswer: boolean;
}

/** Counts by status and every broken invariant, across both transports. */
class Tally {
  readonly byStatus: Record<string, number> = {};
  readonly signed: Record<string, number> = {};
  readonly unsigned: Record<string, number> = {};
  readonly failures: string[] = [];
  /** Task ids answered `received`, only ever from signed requests. */
  readonly received: string[] = [];
  /** 200 answers by their `status`: received, duplicate or conflict. */
  readonly ok: Record<string, number> = {};
  /** How often each label (mutation, forgery, raw kind, replay) was sent. */
  readonly labels: Record<string, number> = {};
  requests = 0;
  nonJsonParserAnswers = 0;
  noAnswer = 0;

  /** Counts one answer; returns the broken invariant, if any. */
  record(c: Pick<FuzzCase, 'index' | 'labels' | 'signed' | 'taskId'>, o: Outcome): string | undefined {
    this.requests++;
    const key = o.status === null ? 'none' : String(o.status);
    for (const counts of [this.byStatus, c.signed ? this.signed : this.unsigned]) counts[key] = (counts[key] ?? 0) + 1;
    for (const label of c.labels) this.labels[label] = (this.labels[label] ?? 0) + 1;
    const problem = this.problem(c.signed, o);
    if (!problem) return undefined;
    const failure = `#${c.index} ${c.taskId} [${c.labels.join(', ')}]: ${problem}`;
    this.failures.push(failure);
    return failure;
  }

  private problem(signed: boolean, o: Outcome): string | undefined {
    if (o.status === null) {
      this.noAnswer++;
      return o.mayNotAnswer ? undefined : 'no answer';
    }
    if (o.status >= 500) return `${o.status} ${o.body.slice(0, 200)}`;
    // 200 and 422 both mean authentication passed.
    if (!signed && (o.status === 200 || o.status === 422)) return `unauthenticated request answered ${o.status}`;
    let json: unknown;
    try {
      json = JSON.parse(o.body);
    } catch {
      json = undefined;
    }
    const record = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
    if (o.status >= 400) {
      if (typeof record.error === 'string') return undefined;
      if (o.parserLevel && (o.status === 400 || o.status === 431)) {
        this.nonJsonParserAnswers++;
        return undefined;
      }
      return `${o.status} without a JSON error: ${o.body.slice(0, 200)}`;
    }
    if (o.status !== 200) return `unexpected status ${o.status}`;
    const status = String(record.status);
    this.ok[status] = (this.ok[status] ?? 0) + 1;
    if (record.status === 'received' && typeof record.task_id === 'string') this.received.push(record.task_id);
    // A conflict is an authenticated callback that disagrees with the accepted one: held, not stored.
    else if (record.status !== 'duplicate' && record.status !== 'conflict')
      return `200 with body ${o.body.slice(0, 200)}`;
    return undefined;
  }
}

let redisServer: RedisServerHarness;
let ingress: TestIngress;
let port: number;

beforeAll(async () => {
  redisServer = await startRedisServer();
  ingress = await buildTestIngress(redisServer.url, {
    CALLBACK_HMAC_KEYS: HMAC_KEYS.join(','),
    CALLBACK_WEBHOOK_SECRETS: WEBHOOK_SECRET,
  });
  port = ingress.port;
});
afterAll(async () => {
  await ingress?.close();
  await redisServer?.dispose();
});

/** Every label kind the generators can produce was sent at least once (labels carry suffixes). */
function missingKinds(labels: Record<string, number>): string[] {
  const kinds = [
    ...STRUCTURAL_KINDS,
    ...TEXTUAL_KINDS,
    ...FORGERY_KINDS.map((kind) => `forged:${kind}`),
    'content-type',
    'replay-concurrent',
    'replay-sequential',
    ...RAW_KINDS,
  ];
  const seen = Object.keys(labels);
  return kinds.filter(
    (kind) => !seen.some((label) => label === kind || label.startsWith(`${kind}-`) || label.startsWith(`${kind}:`)),
  );
}

/** Runs one property; a failure is reported with its seed and path, after the summary is written. */
async function check<T>(
  name: 'inject' | 'raw',
  arb: fc.Arbitrary<T[]>,
  numRuns: number,
  run: (batch: T[]) => Promise<void>,
) {
  const details = await fc.check(fc.asyncProperty(arb, run), {
    seed: SEED,
    numRuns,
    ...(PATH_PROPERTY === name && PATH ? { path: PATH } : {}),
  });
  if (!details.failed) return { details, report: undefined };
  console.log(`[fuzz] ${name} failed: seed ${details.seed}, path ${details.counterexamplePath}`);
  const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH=${name}:${details.counterexamplePath}`;
  console.log(`[fuzz] replay: ${replay}`);
  // fast-check's report leaves the property's error out: it names the broken invariants.
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return { details, report: `${name} (${replay}): ${await fc.asyncDefaultReportMessage(details)}\n${error}` };
}

const pollution = () =>
  (({}) as Record<string, unknown>).polluted !== undefined || Object.hasOwn(Object.prototype, 'polluted')
    ? 'Object.prototype polluted'
    : undefined;

/** Throws every problem of a batch at once, so fast-check shrinks it. */
function assertBatch(problems: Array<string | undefined>): void {
  const found = [...problems, pollution()].filter((p): p is string => p !== undefined);
  if (found.length > 0) throw new Error(found.join('\n'));
}

describe('ingress fuzz', () => {
  it(`survives ${INJECT_RUNS} batches of inject requests and ${RAW_RUNS} of raw ones (up to ${BATCH} concurrent each), storing nothing unauthenticated`, async () => {
    console.log('[fuzz] seed', SEED);
    const started = Date.now();
    const settings: FuzzSettings = {
      hmacKeys: HMAC_KEYS,
      webhookSecrets: [WEBHOOK_SECRET],
      toleranceS: ingress.config.CALLBACK_TOLERANCE_S,
      bodyLimit: ingress.config.BODY_LIMIT_BYTES,
    };
    const tally = new Tally();
    // Task ids come from this counter: every send, shrink attempts included, names a fresh task.
    let nextIndex = 0;
    const nowS = () => Math.floor(Date.now() / 1000);

    // A quarantine entry's id is derived from the body's bytes: a replayed 422 body is one entry.
    const rejectedBodies = new Set<string>();
    let rawRejected = 0;
    const injectOne = async (c: FuzzCase, labels = c.labels) => {
      const res = await ingress.app.inject({ method: c.method, url: c.url, headers: c.headers, payload: c.payload });
      if (res.statusCode === 422) rejectedBodies.add(c.payload.toString());
      return tally.record(
        { ...c, labels },
        { status: res.statusCode, body: res.body, parserLevel: false, mayNotAnswer: false },
      );
    };
    const injectStep = async ({ recipe, replay }: InjectStep) => {
      const c = buildCase(recipe, settings, nextIndex++, nowS());
      if (replay === 'none') return [await injectOne(c)];
      if (replay === 'concurrent') return Promise.all([injectOne(c), injectOne(c, ['replay-concurrent'])]);
      return [await injectOne(c), await injectOne(c, ['replay-sequential'])];
    };
    const inject = await check(
      'inject',
      fc.array(injectStepArb(settings), { minLength: 1, maxLength: BATCH, size: 'max' }),
      INJECT_RUNS,
      async (steps) => assertBatch((await Promise.all(steps.map(injectStep))).flat()),
    );
    const injectRequests = tally.requests;

    const rawOne = async (recipe: RawRecipe) => {
      const c = buildRawCase(recipe, HMAC_KEYS[0] as string, nextIndex++, nowS());
      const res = await sendRaw(port, c.bytes, c.halfClose);
      if (res.status === 422) rawRejected++;
      return tally.record(c, {
        status: res.status,
        body: res.body,
        parserLevel: c.parserLevel,
        mayNotAnswer: c.mayNotAnswer,
      });
    };
    const raw = await check(
      'raw',
      fc.array(rawCaseArb, { minLength: 1, maxLength: BATCH, size: 'max' }),
      RAW_RUNS,
      async (recipes) => assertBatch(await Promise.all(recipes.map(rawOne))),
    );

    // Still alive, on both transports.
    expect((await ingress.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // Fastify's parser refuses __proto__ / constructor.prototype: nothing leaked into every object.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');

    // Every job and every task record must trace back to a signed request answered `received`.
    const received = new Set(tally.received);
    const ids = await jobIds(ingress.queue);
    const taskPrefix = ingress.keys.task('');
    const taskKeys = await ingress.inspect.keys(ingress.keys.task('*'));
    const quarantined = await ingress.inspect.zcard(ingress.keys.quarantine);

    const summary = {
      seed: SEED,
      requests: tally.requests,
      inject: injectRequests,
      raw: tally.requests - injectRequests,
      runs: { inject: inject.details.numRuns, raw: raw.details.numRuns },
      shrinks: { inject: inject.details.numShrinks, raw: raw.details.numShrinks },
      failedPaths: { inject: inject.details.counterexamplePath, raw: raw.details.counterexamplePath },
      byStatus: tally.byStatus,
      ok: tally.ok,
      signed: tally.signed,
      unsigned: tally.unsigned,
      labels: tally.labels,
      jobs: ids.length,
      brokenInvariants: tally.failures.length,
      quarantined,
      nonJsonParserAnswers: tally.nonJsonParserAnswers,
      noAnswer: tally.noAnswer,
      durationMs: Date.now() - started,
      finishedAt: new Date().toISOString(),
    };
    console.log(
      `[fuzz] ${summary.requests} requests (${summary.inject} inject, ${summary.raw} raw), by status ${JSON.stringify(summary.byStatus)}, ${summary.jobs} jobs, ${summary.brokenInvariants} broken invariants, ${summary.durationMs} ms`,
    );
    mkdirSync(fileURLToPath(new URL('../.tmp/', import.meta.url)), { recursive: true });
    writeFileSync(SUMMARY_FILE, `${JSON.stringify(summary, null, 2)}\n`);

    for (const { report } of [inject, raw]) if (report) throw new Error(report);
    expect(tally.failures.slice(0, 25), `${tally.failures.length} broken invariants`).toEqual([]);
    // A FUZZ_PATH replay sends one batch, not the whole mix.
    if (!PATH) expect(missingKinds(tally.labels)).toEqual([]);
    const strays = ids.filter((id) => !/^s-/i.test(id) || !received.has(id.replace(/\.(success|failure)$/, '')));
    expect(strays).toEqual([]);
    expect(ids).toHaveLength(tally.received.length);
    expect(taskKeys.filter((key) => !received.has(key.slice(taskPrefix.length)))).toEqual([]);
    // Each distinct 422 body (authenticated, off-schema) left exactly one quarantined entry, up to the cap.
    expect(quarantined).toBe(Math.min(rejectedBodies.size + rawRejected, ingress.config.QUARANTINE_MAXLEN));
  }, 90_000);
});
