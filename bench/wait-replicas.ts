/**
 * What `REDIS_WAIT_REPLICAS=1` costs: ACK latency of signed callbacks against a real ingress
 * process on a local Redis Cluster (3 masters + 3 replicas), with and without WAIT.
 *
 *   npx tsx bench/wait-replicas.ts [--sequential 500] [--concurrency 20] [--concurrent 2000] [--rounds 2]
 *
 * Each round runs both modes (off, then on) with a fresh ingress and a fresh queue prefix:
 * `--sequential` callbacks one after the other, then `--concurrent` callbacks with
 * `--concurrency` in flight. Latency is measured by the client, from sending the request to
 * the whole answer. A last measurement isolates WAIT itself: `HSET` alone vs `HSET` + `WAIT 1`
 * on the connection to the master of a slot, without HTTP. The last one measures how long a
 * callback waits when no replica is there at all (`REDIS_WAIT_TIMEOUT_MS=500`): the replica of
 * the ingress's slot frozen and dropped by its master, `--no-replica` callbacks one after the
 * other and then as many with `--concurrency` in flight, every one answered 503. Standalone
 * (not `npm run bench`); `--rounds 0` runs the last two only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCallback, signProviderCallback } from '@runway-relay/simulator';
import { freePort, type RedisClusterHarness, startRedisCluster, waitFor } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';

const root = fileURLToPath(new URL('..', import.meta.url));
const HMAC_KEY = 'bench-wait-replicas-key';

const { values: args } = parseArgs({
  options: {
    sequential: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '20' },
    concurrent: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '2' },
    'no-replica': { type: 'string', default: '200' },
  },
});
const SEQUENTIAL = Number(args.sequential);
const CONCURRENCY = Number(args.concurrency);
const CONCURRENT = Number(args.concurrent);
const ROUNDS = Number(args.rounds);
const NO_REPLICA = Number(args['no-replica']);

interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Callbacks per second (concurrent runs only). */
  rate?: number;
  non200: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

function stats(latencies: number[], non200: number, elapsedMs?: number): Stats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? Number.NaN),
    ...(elapsedMs === undefined ? {} : { rate: Math.round((sorted.length / elapsedMs) * 1000) }),
    non200,
  };
}

interface Ingress {
  url: string;
  prefix: string;
  stop(): Promise<void>;
}

/** The real ingress (`services/ingress/src/main.ts`) in its own process. */
async function startIngress(cluster: RedisClusterHarness, env: Record<string, string>): Promise<Ingress> {
  const port = await freePort();
  const prefix = `{bench-${randomBytes(4).toString('hex')}}`;
  const opsPort = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'services/ingress/src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      REDIS_CLUSTER_NODES: cluster.nodes,
      QUEUE_PREFIX: prefix,
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: String(port),
      INGRESS_OPS_HOST: '127.0.0.1',
      INGRESS_OPS_PORT: String(opsPort),
      CALLBACK_HMAC_KEYS: HMAC_KEY,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`ingress exited: ${stderr.slice(-2000)}`);
      // Readiness is on the ops listener.
      return (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).ok;
    },
    { timeoutMs: 30_000, intervalMs: 100, description: 'ingress /readyz' },
  );
  return {
    url,
    prefix,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const dispatcher = new Agent({ connections: CONCURRENCY * 2, keepAliveTimeout: 30_000 });

/** Posts one new signed success callback; resolves with its latency (ms) and status. */
async function post(url: string): Promise<{ ms: number; status: number }> {
  const taskId = randomUUID();
  const body = buildCallback('success', taskId, {
    video: `https://cdn.example.com/k/${taskId}.mp4`,
    image: `https://cdn.example.com/m/${taskId}.png`,
  });
  const payload = JSON.stringify(body);
  const headers = { 'content-type': 'application/json', ...signProviderCallback(body, HMAC_KEY, Date.now() / 1000) };
  const started = performance.now();
  const response = await request(`${url}/callbacks/runway`, { method: 'POST', body: payload, headers, dispatcher });
  await response.body.text();
  return { ms: performance.now() - started, status: response.statusCode };
}

async function sequential(url: string, count: number): Promise<Stats> {
  const latencies: number[] = [];
  let non200 = 0;
  for (let i = 0; i < count; i++) {
    const { ms, status } = await post(url);
    if (status === 200) latencies.push(ms);
    else non200++;
  }
  return stats(latencies, non200);
}

async function concurrent(url: string, count: number, inFlight: number): Promise<Stats> {
  const latencies: number[] = [];
  let non200 = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        next++;
        const { ms, status } = await post(url);
        if (status === 200) latencies.push(ms);
        else non200++;
      }
    }),
  );
  return stats(latencies, non200, performance.now() - started);
}

/** `HSET` alone, then `HSET` + `WAIT 1 500`, on a plain connection to the master of `{bench}`. */
async function rawWait(cluster: RedisClusterHarness, count: number): Promise<{ write: Stats; writeWait: Stats }> {
  const port = await cluster.masterForSlot(await cluster.keySlot('{bench}'));
  const redis = new Redis(port, '127.0.0.1');
  try {
    const measure = async (withWait: boolean) => {
      const latencies: number[] = [];
      let failed = 0;
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await redis.hset(`{bench}:raw:${i % 100}`, 'n', i);
        if (withWait && Number(await redis.call('WAIT', '1', '500')) < 1) failed++;
        latencies.push(performance.now() - started);
      }
      return stats(latencies, failed);
    };
    await measure(true); // warm-up, and the replica acknowledging
    return { write: await measure(false), writeWait: await measure(true) };
  } finally {
    redis.disconnect();
  }
}

const WAIT_TIMEOUT_MS = 500;

/**
 * Latency of callbacks (every answer, all 503) while the master of the ingress's slot has no
 * replica: the replica frozen (SIGSTOP) and its link dropped (`CLIENT KILL TYPE replica`), so
 * each WAIT runs to its full timeout. Thaws the replica and waits for the cluster afterwards.
 */
async function withoutReplica(cluster: RedisClusterHarness, count: number, inFlight: number) {
  const ingress = await startIngress(cluster, {
    REDIS_WAIT_REPLICAS: '1',
    REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS),
  });
  const master = await cluster.masterForSlot(await cluster.keySlot(ingress.prefix));
  const replica = await cluster.replicaOf(master);
  try {
    await waitFor(async () => (await post(ingress.url)).status === 200, { timeoutMs: 20_000 });
    await cluster.pauseNode(replica);
    await cluster.command(master, 'CLIENT', 'KILL', 'TYPE', 'replica');
    const run = async (total: number, parallel: number) => {
      const latencies: number[] = [];
      let not503 = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < total) {
            next++;
            const { ms, status } = await post(ingress.url);
            latencies.push(ms);
            if (status !== 503) not503++;
          }
        }),
      );
      return stats(latencies, not503);
    };
    return { sequential: await run(Math.min(count, 20), 1), concurrent: await run(count, inFlight) };
  } finally {
    await ingress.stop();
    await cluster.resumeNode(replica);
    await cluster.waitUntilHealthy();
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? Number.NaN;

const MODES = [
  { name: 'WAIT off', env: {} },
  { name: 'REDIS_WAIT_REPLICAS=1', env: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '500' } },
] as const;

async function main(): Promise<void> {
  console.error(`starting a Redis Cluster (3 masters + 3 replicas)…`);
  const cluster = await startRedisCluster();
  const rows: Array<{ round: number; mode: string; run: string } & Stats> = [];
  let raw: Awaited<ReturnType<typeof rawWait>> | undefined;
  let alone: Awaited<ReturnType<typeof withoutReplica>> | undefined;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of MODES) {
        const ingress = await startIngress(cluster, mode.env);
        try {
          // Warm-up until every answer is 200: JIT, connections, and (WAIT on) the replicas
          // acknowledging (a replica may need a second after its initial sync).
          await waitFor(async () => (await post(ingress.url)).status === 200, { timeoutMs: 20_000 });
          for (let i = 0; i < 200; i++) await post(ingress.url);
          rows.push({ round, mode: mode.name, run: 'sequential', ...(await sequential(ingress.url, SEQUENTIAL)) });
          rows.push({
            round,
            mode: mode.name,
            run: `${CONCURRENCY} concurrent`,
            ...(await concurrent(ingress.url, CONCURRENT, CONCURRENCY)),
          });
          console.error(`round ${round}: ${mode.name} done`);
        } finally {
          await ingress.stop();
        }
      }
    }
    raw = await rawWait(cluster, SEQUENTIAL * 4);
    if (NO_REPLICA > 0) alone = await withoutReplica(cluster, NO_REPLICA, CONCURRENCY);
  } finally {
    await dispatcher.close();
    await cluster.dispose();
  }
  console.log(
    `\nACK latency (ms, client-side) on a local Redis Cluster — Node ${process.version}, ` +
      `${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'})\n`,
  );
  console.log('| round | mode | run | n | p50 | p90 | p99 | max | callbacks/s | non-200 |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    console.log(
      `| ${row.round} | ${row.mode} | ${row.run} | ${row.n} | ${row.p50} | ${row.p90} | ${row.p99} | ${row.max} | ${row.rate ?? '—'} | ${row.non200} |`,
    );
  }
  if (ROUNDS > 0) console.log(`\nMedian over ${ROUNDS} rounds:\n`);
  console.log('| mode | run | p50 | p99 | callbacks/s |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const mode of ROUNDS > 0 ? MODES : []) {
    for (const run of ['sequential', `${CONCURRENCY} concurrent`]) {
      const mine = rows.filter((row) => row.mode === mode.name && row.run === run);
      const rate = mine[0]?.rate === undefined ? '—' : median(mine.map((row) => row.rate ?? 0));
      console.log(
        `| ${mode.name} | ${run} | ${median(mine.map((row) => row.p50))} | ${median(mine.map((row) => row.p99))} | ${rate} |`,
      );
    }
  }
  if (raw) {
    console.log(`\nWAIT alone (ms, one connection to the slot's master, no HTTP):\n`);
    console.log('| command | n | p50 | p90 | p99 | max | WAIT < 1 |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const [name, row] of [
      ['HSET', raw.write],
      ['HSET + WAIT 1 500', raw.writeWait],
    ] as const) {
      console.log(`| ${name} | ${row.n} | ${row.p50} | ${row.p90} | ${row.p99} | ${row.max} | ${row.non200} |`);
    }
  }
  if (alone) {
    console.log(
      `\nNo replica up, REDIS_WAIT_REPLICAS=1, REDIS_WAIT_TIMEOUT_MS=${WAIT_TIMEOUT_MS} (ms, client-side, every answer):\n`,
    );
    console.log('| run | n | p50 | p90 | p99 | max | max ÷ timeout | not 503 |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [name, row] of [
      ['sequential', alone.sequential],
      [`${CONCURRENCY} concurrent`, alone.concurrent],
    ] as const) {
      const ratio = Math.round((row.max / WAIT_TIMEOUT_MS) * 100) / 100;
      console.log(
        `| ${name} | ${row.n} | ${row.p50} | ${row.p90} | ${row.p99} | ${row.max} | ${ratio} | ${row.non200} |`,
      );
    }
  }
}

await main();
