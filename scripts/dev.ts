/**
 * `npm run dev`: the whole stack on this machine without Docker (see the README's quickstart and
 * docs/deployment.md, "Development stack").
 *
 * Starts redis-server (AOF on, data in `.dev-data/redis`, port 6390) unless REDIS_URL or
 * REDIS_CLUSTER_NODES is set, s3rver (objects in `.dev-data/s3`, port 4568) unless S3_ENDPOINT
 * is set, and the simulator's media server (port 3002), then ingress, worker and dashboard with
 * one readable log line per event. Writes the addresses to `.dev-data/dev.env` and prints them.
 * Data survives a stop; `--fresh` starts empty. `--help` lists the flags.
 *
 * Stopping: a terminal's Ctrl-C sends SIGINT to its whole foreground process group, and npm
 * forwards one more. The services and redis-server run in process groups of their own, so none
 * of that reaches them: this runner sends each service exactly one SIGTERM, waits for all of them
 * to drain, and only then stops the media server, S3 and Redis the drain still needs.
 *
 * A runner killed with SIGKILL stops nothing itself. Its services read a pipe on stdin whose only
 * writer is this runner (`STOP_ON_STDIN_EOF`): when it dies the pipe ends and they drain. Redis
 * cannot watch a pipe, so the pids (and start times) of all it started are kept in
 * `<data-dir>/run.json`, and the next start stops whatever of them still runs before it checks
 * the ports (see docs/deployment.md, "Development stack").
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type MediaServer, startMediaServer } from '@runway-relay/simulator';
import {
  ProcessSet,
  type RedisServerHarness,
  type S3Harness,
  type ScriptProcess,
  type ServiceName,
  startRedisServer,
  startS3rver,
} from '@runway-relay/testkit';
import { z } from 'zod';
import { type DevDataLayout, devDataLayout, prepareDevData, writeDevEnv } from './dev/dev-data.js';
import { DEV_USAGE, type DevOptions, parseDevOptions } from './dev/dev-options.js';
import { stopLeftovers } from './dev/leftovers.js';
import { createLogPrinter } from './dev/log-printer.js';
import { type PortClaim, portProblems } from './dev/port-check.js';
import { processIdentity } from './dev/process-identity.js';
import { type RunRecord, removeRunRecord, writeRunRecord } from './dev/run-record.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SERVICES: readonly ServiceName[] = ['ingress', 'worker', 'dashboard'];
/** Longest drain of a service (the worker's default SHUTDOWN_GRACE_MS is 25 s, or yours) plus slack. */
const STOP_GRACE_MS = Math.max(35_000, (Number(process.env.SHUTDOWN_GRACE_MS) || 0) + 10_000);
/** A second signal this soon after the first is the same Ctrl-C, forwarded by npm. */
const SAME_CTRL_C_MS = 1000;
/** Redis left by a killed run: SIGTERM writes its AOF and exits, which takes moments. */
const REDIS_STOP_GRACE_MS = 10_000;

const env: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
);
const printLog = createLogPrinter({ colorize: process.stdout.isTTY === true, write: (t) => process.stdout.write(t) });
const processes = new ProcessSet({ cwd: root, detached: true, keepChars: 64 * 1024 });
let redis: RedisServerHarness | undefined;
let s3: S3Harness | undefined;
let media: MediaServer | undefined;
/** What this run started, in `<data-dir>/run.json` (see the header). */
let runRecord: { file: string; record: RunRecord } | undefined;

/** Adds a started process to the run record, so that a next start can stop it if this runner is killed. */
function recordProcess(name: string, pid: number | undefined): void {
  const identity = pid === undefined ? undefined : processIdentity(pid);
  if (!runRecord || pid === undefined || identity === undefined) return;
  runRecord.record.processes.push({ name, pid, identity });
  writeRunRecord(runRecord.file, runRecord.record);
}

function say(line: string): void {
  process.stdout.write(process.stdout.isTTY ? `\x1b[1m[dev]\x1b[0m ${line}\n` : `[dev] ${line}\n`);
}

let stopping: Promise<never> | undefined;
let firstSignalAt = 0;

/** Stops the services (one SIGTERM each, then waits for their drain), then what they used. */
function stopStack(code: number): Promise<never> {
  stopping ??= (async () => {
    await processes.stopAll('SIGTERM', STOP_GRACE_MS);
    await media?.close().catch(() => undefined);
    await s3?.suspend().catch(() => undefined);
    await redis?.stop().catch(() => undefined);
    // Everything it names is stopped: nothing for a next start to clean up.
    if (runRecord) removeRunRecord(runRecord.file);
    say(code === 0 ? 'stopped; data kept in the data directory (`npm run dev -- --fresh` starts empty)' : 'stopped');
    process.exit(code);
  })();
  return stopping;
}

function onSignal(signal: NodeJS.Signals): void {
  if (!stopping) {
    firstSignalAt = Date.now();
    say(`${signal}: stopping — each service drains first (Ctrl-C again to kill them at once)`);
    void stopStack(0);
    return;
  }
  if (Date.now() - firstSignalAt < SAME_CTRL_C_MS) return;
  say(`${signal} again: killing the services`);
  processes.killAll();
}

/** The ports this run listens on, each with the setting that moves it. */
function portClaims(options: DevOptions, startsRedis: boolean, startsS3: boolean): PortClaim[] {
  const fromEnv = (name: string, what: string): PortClaim => ({
    port: Number(env[name]),
    what,
    change: `${name}=<port>`,
  });
  return [
    ...(startsRedis ? [{ port: options.redisPort, what: 'Redis', change: '--redis-port <port>' }] : []),
    ...(startsS3 ? [{ port: options.s3Port, what: 'S3 server', change: '--s3-port <port>' }] : []),
    { port: options.mediaPort, what: 'simulator media server', change: '--media-port <port>' },
    fromEnv('INGRESS_PORT', 'ingress'),
    fromEnv('INGRESS_OPS_PORT', 'ingress ops (/readyz, /metrics)'),
    fromEnv('WORKER_METRICS_PORT', 'worker ops (/readyz, /metrics)'),
    fromEnv('DASHBOARD_PORT', 'dashboard'),
  ].filter((claim) => claim.port !== 0);
}

async function startBackingServices(
  options: DevOptions,
  data: DevDataLayout,
  startsRedis: boolean,
  startsS3: boolean,
): Promise<void> {
  prepareDevData(data, options.fresh);
  if (startsRedis) {
    // AOF (fsync every second): the relay refuses a Redis that may lose what it acknowledged.
    redis = await startRedisServer({ persistent: true, port: options.redisPort, dir: data.redis, detached: true });
    recordProcess('redis', redis.pid());
    env.REDIS_URL = redis.url;
    say(`redis-server: ${redis.url} (data in ${data.redis})`);
  }
  if (startsS3) {
    s3 = await startS3rver([env.S3_BUCKET ?? 'runway-media'], { port: options.s3Port, directory: data.s3 });
    Object.assign(env, {
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_REGION: s3.region,
    });
    say(`S3 (s3rver): ${s3.endpoint} (objects in ${data.s3})`);
  }
  media = await startMediaServer({ host: '127.0.0.1', port: options.mediaPort });
  say(`simulator media server: ${media.origin} (any /media/<id>/video.mp4 and /media/<id>/cover.png)`);
  const shared = [
    'REDIS_URL',
    'REDIS_CLUSTER_NODES',
    'S3_ENDPOINT',
    'S3_ACCESS_KEY',
    'S3_SECRET_KEY',
    'S3_REGION',
    'S3_BUCKET',
    'QUEUE_PREFIX',
    'EVENTS_STREAM',
    'CALLBACK_HMAC_KEYS',
  ];
  const values: Record<string, string> = Object.fromEntries(
    shared.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]]])),
  );
  values.SIM_INGRESS_URL = `http://127.0.0.1:${env.INGRESS_PORT}/callbacks/runway`;
  values.DEV_MEDIA_ORIGIN = media.origin;
  writeDevEnv(data.envFile, values);
  say(`addresses written to ${data.envFile}:`);
  for (const [name, value] of Object.entries(values)) say(`  ${name}=${value}`);
}

function spawnDevService(name: ServiceName): ScriptProcess {
  const service = processes.spawn({
    name,
    script: `services/${name}/src/main.ts`,
    // Its stdin is a pipe from this runner: if the runner dies, even by SIGKILL, it drains.
    env: { ...env, STOP_ON_STDIN_EOF: 'true' },
    stdin: 'pipe',
    onLine: (line) => printLog(name, line),
  });
  recordProcess(name, service.pid);
  void service.exited.then(({ code, signal }) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? code}) on its own; stopping the stack`);
    void stopStack(1);
  });
  return service;
}

async function main(): Promise<void> {
  let options: DevOptions | 'help';
  try {
    options = parseDevOptions(process.argv.slice(2));
  } catch (error) {
    const problem = error instanceof z.ZodError ? z.prettifyError(error) : String(error);
    process.stderr.write(`${problem}\n\n${DEV_USAGE}`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(DEV_USAGE);
    return;
  }
  Object.assign(env, {
    NODE_ENV: env.NODE_ENV ?? 'development',
    INGRESS_HOST: env.INGRESS_HOST ?? '127.0.0.1',
    INGRESS_PORT: env.INGRESS_PORT ?? '3000',
    INGRESS_OPS_HOST: env.INGRESS_OPS_HOST ?? '127.0.0.1',
    INGRESS_OPS_PORT: env.INGRESS_OPS_PORT ?? '9465',
    DASHBOARD_HOST: env.DASHBOARD_HOST ?? '127.0.0.1',
    DASHBOARD_PORT: env.DASHBOARD_PORT ?? '3001',
    WORKER_METRICS_HOST: env.WORKER_METRICS_HOST ?? '127.0.0.1',
    WORKER_METRICS_PORT: env.WORKER_METRICS_PORT ?? '9464',
    S3_BUCKET: env.S3_BUCKET ?? 'runway-media',
    CALLBACK_HMAC_KEYS: env.CALLBACK_HMAC_KEYS ?? 'dev-provider-key',
    DASHBOARD_USER: env.DASHBOARD_USER ?? 'admin',
    DASHBOARD_PASSWORD: env.DASHBOARD_PASSWORD ?? 'admin',
    // The simulator serves media over http on 127.0.0.1: allowed here, in development only.
    DOWNLOAD_ALLOW_PRIVATE: env.DOWNLOAD_ALLOW_PRIVATE ?? 'true',
    DOWNLOAD_ALLOW_HTTP: env.DOWNLOAD_ALLOW_HTTP ?? 'true',
  });
  const startsRedis = !env.REDIS_URL && !env.REDIS_CLUSTER_NODES;
  const startsS3 = !env.S3_ENDPOINT;
  const data = devDataLayout(options.dataDir, root);
  mkdirSync(data.root, { recursive: true });
  // A runner killed with SIGKILL left Redis (and any service that did not drain) holding ports.
  const leftovers = await stopLeftovers(data.runFile, {
    serviceGraceMs: STOP_GRACE_MS,
    storeGraceMs: REDIS_STOP_GRACE_MS,
    say,
  });
  if (leftovers === 'busy') process.exit(1);
  const problems = await portProblems(portClaims(options, startsRedis, startsS3));
  if (problems.length > 0) {
    for (const problem of problems) say(problem);
    say('(another `npm run dev` still running? stop it first)');
    process.exit(1);
  }
  const runnerIdentity = processIdentity(process.pid);
  if (runnerIdentity !== undefined) {
    runRecord = {
      file: data.runFile,
      record: { runner: { name: 'runner', pid: process.pid, identity: runnerIdentity }, processes: [] },
    };
    writeRunRecord(runRecord.file, runRecord.record);
  }

  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // A crash of this runner must not leave the services (own process groups) running.
  process.on('exit', () => processes.killAll());
  try {
    await startBackingServices(options, data, startsRedis, startsS3);
  } catch (error) {
    // e.g. no redis-server on the PATH: say so, and stop whatever did start.
    say(`cannot start the backing services: ${error instanceof Error ? error.message : String(error)}`);
    await stopStack(1);
  }
  if (stopping) return;
  const services = SERVICES.map(spawnDevService);

  const ingress = `http://127.0.0.1:${env.INGRESS_PORT}`;
  // The ingress's /readyz and /metrics are on its internal ops listener.
  const ingressOps = `http://127.0.0.1:${env.INGRESS_OPS_PORT}`;
  const dashboard = `http://127.0.0.1:${env.DASHBOARD_PORT}`;
  const worker = `http://127.0.0.1:${env.WORKER_METRICS_PORT}`;
  const readyUrls: Record<ServiceName, string> = {
    ingress: `${ingressOps}/readyz`,
    worker: `${worker}/readyz`,
    dashboard: `${dashboard}/readyz`,
  };
  try {
    await Promise.all(services.map((service, i) => service.waitForUrl(readyUrls[SERVICES[i] ?? 'ingress'], 90_000)));
  } catch (error) {
    if (stopping) return;
    say(`the stack did not come up: ${error instanceof Error ? error.message : String(error)}`);
    await stopStack(1);
  }
  const key = (env.CALLBACK_HMAC_KEYS ?? '').split(',')[0];
  say('the stack is up:');
  say(`  callbacks   POST ${ingress}/callbacks/runway   (HMAC key: ${key})`);
  say(`  Bull Board  ${dashboard}/admin/queues   (user ${env.DASHBOARD_USER}, password ${env.DASHBOARD_PASSWORD})`);
  say(`  admin API   ${dashboard}/api/tasks/<task_id>, ${dashboard}/api/events`);
  say(`  metrics     ${ingressOps}/metrics  ${worker}/metrics  ${dashboard}/metrics`);
  say(`  media       ${media?.origin}/media/<id>/video.mp4 and /cover.png (the README's first callback uses them)`);
  // The signature does not cover the body: production pins the provider's media hosts.
  say(
    `  media hosts ${env.DOWNLOAD_ALLOWED_HOSTS ? env.DOWNLOAD_ALLOWED_HOSTS : 'any (in production set DOWNLOAD_ALLOWED_HOSTS=<the provider media hosts>, see docs/security.md)'}`,
  );
  say('try a simulated batch (media served by the simulator, stored in the bucket):');
  say(`  npm run -s simulate -- --ingress ${ingress}/callbacks/runway --hmac-key ${key} --tasks 20`);
  say('Ctrl-C stops everything; the data stays for the next start.');
}

await main();
