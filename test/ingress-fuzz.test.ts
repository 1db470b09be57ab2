import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type RedisServerHarness, startRedisServer } from '@runway-relay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FuzzCase, type FuzzSettings, generateCase } from './helpers/fuzz-cases.js';
import { createRng, runPool } from './helpers/fuzz-random.js';
import { generateRawCase, type RawCase, sendRaw } from './helpers/fuzz-raw.js';
import { buildTestIngress, jobIds, TEST_HMAC_KEY, type TestIngress } from './helpers/ingress.js';

/** Fixed, so a failure replays exactly; `FUZZ_SEED=<n>` explores other runs. */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
const INJECT_CASES = 10_000;
const RAW_CASES = 300;
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
  nonJsonParserAnswers = 0;
  noAnswer = 0;

  record(c: Pick<FuzzCase, 'index' | 'labels' | 'signed' | 'taskId'>, o: Outcome): void {
    const key = o.status === null ? 'none' : String(o.status);
    for (const counts of [this.byStatus, c.signed ? this.signed : this.unsigned]) counts[key] = (counts[key] ?? 0) + 1;
    const problem = this.problem(c.signed, o);
    if (problem) this.failures.push(`#${c.index} ${c.taskId} [${c.labels.join(', ')}]: ${problem}`);
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
    if (record.status === 'received' && typeof record.task_id === 'string') this.received.push(record.task_id);
    else if (record.status !== 'duplicate') return `200 with body ${o.body.slice(0, 200)}`;
    return undefined;
  }
}

/** The inject cases, with ~3% exact replays of earlier clean signed ones (duplicates, often concurrent). */
function injectCases(settings: FuzzSettings): FuzzCase[] {
  const rng = createRng(SEED);
  const nowS = Math.floor(Date.now() / 1000);
  const cases: FuzzCase[] = [];
  const clean: FuzzCase[] = [];
  for (let i = 0; i < INJECT_CASES; i++) {
    const earlier = clean[Math.floor(rng() * clean.length)];
    if (earlier && rng() < 0.03) {
      cases.push({ ...earlier, index: i, labels: ['replay'] });
      continue;
    }
    const c = generateCase(rng, settings, i, nowS);
    if (c.signed && c.labels.length === 0) clean.push(c);
    cases.push(c);
  }
  return cases;
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
  await ingress.app.listen({ host: '127.0.0.1', port: 0 });
  port = (ingress.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await ingress?.close();
  await redisServer?.dispose();
});

describe('ingress fuzz', () => {
  it(`survives ${INJECT_CASES} mutated requests via inject and ${RAW_CASES} raw ones, storing nothing unauthenticated`, async () => {
    console.log(`fuzz: seed ${SEED} (FUZZ_SEED=${SEED} replays this run)`);
    const started = Date.now();
    const settings: FuzzSettings = {
      hmacKeys: HMAC_KEYS,
      webhookSecrets: [WEBHOOK_SECRET],
      toleranceS: ingress.config.CALLBACK_TOLERANCE_S,
      bodyLimit: ingress.config.BODY_LIMIT_BYTES,
    };
    const tally = new Tally();

    await runPool(injectCases(settings), 16, async (c) => {
      const res = await ingress.app.inject({ method: c.method, url: c.url, headers: c.headers, payload: c.payload });
      tally.record(c, { status: res.statusCode, body: res.body, parserLevel: false, mayNotAnswer: false });
    });

    const rawRng = createRng(SEED ^ 0x7a7);
    const nowS = Math.floor(Date.now() / 1000);
    const rawCases: RawCase[] = Array.from({ length: RAW_CASES }, (_, i) =>
      generateRawCase(rawRng, HMAC_KEYS[0] as string, i, nowS),
    );
    await runPool(rawCases, 16, async (c) => {
      const res = await sendRaw(port, c.bytes, c.halfClose);
      tally.record(c, { status: res.status, body: res.body, parserLevel: c.parserLevel, mayNotAnswer: c.mayNotAnswer });
    });

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
    const quarantined = await ingress.inspect.llen(ingress.keys.quarantine);

    const summary = {
      seed: SEED,
      requests: INJECT_CASES + RAW_CASES,
      inject: INJECT_CASES,
      raw: RAW_CASES,
      byStatus: tally.byStatus,
      signed: tally.signed,
      unsigned: tally.unsigned,
      jobs: ids.length,
      brokenInvariants: tally.failures.length,
      quarantined,
      nonJsonParserAnswers: tally.nonJsonParserAnswers,
      noAnswer: tally.noAnswer,
      durationMs: Date.now() - started,
      finishedAt: new Date().toISOString(),
    };
    console.log(
      `fuzz: ${summary.requests} requests, by status ${JSON.stringify(summary.byStatus)}, ${summary.jobs} jobs, ${summary.brokenInvariants} broken invariants, ${summary.durationMs} ms`,
    );
    mkdirSync(fileURLToPath(new URL('../.tmp/', import.meta.url)), { recursive: true });
    writeFileSync(SUMMARY_FILE, `${JSON.stringify(summary, null, 2)}\n`);

    expect(tally.failures.slice(0, 25), `${tally.failures.length} broken invariants`).toEqual([]);
    const strays = ids.filter((id) => !/^s-/i.test(id) || !received.has(id.replace(/\.(success|failure)$/, '')));
    expect(strays).toEqual([]);
    expect(ids).toHaveLength(tally.received.length);
    expect(taskKeys.filter((key) => !received.has(key.slice(taskPrefix.length)))).toEqual([]);
    // Each 422 (authenticated, off-schema) left exactly one quarantined body, up to the cap.
    expect(quarantined).toBe(Math.min(tally.byStatus['422'] ?? 0, ingress.config.QUARANTINE_MAXLEN));
  }, 90_000);
});
