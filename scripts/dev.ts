/**
 * `npm run dev`: the whole stack on this machine without Docker (see the README's quickstart).
 * Spawns redis-server when REDIS_URL (and REDIS_CLUSTER_NODES) is unset and an embedded S3-compatible server when
 * S3_ENDPOINT is unset, then ingress, worker and dashboard with pretty logs; prints the
 * URLs and a ready-to-paste signed curl; Ctrl-C stops everything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedisServer, startS3Server, waitFor } from '@runway-relay/testkit';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
const env = { ...process.env };
const cleanups: Array<() => Promise<void>> = [];
const children: ChildProcess[] = [];

function say(line: string): void {
  process.stdout.write(`\x1b[1m[dev]\x1b[0m ${line}\n`);
}

async function startBackingServices(): Promise<void> {
  if (!env.REDIS_URL && !env.REDIS_CLUSTER_NODES) {
    const redis = await startRedisServer({ persistent: true }).catch((error: Error) => {
      say(`cannot start redis-server: ${error.message}`);
      process.exit(1);
    });
    env.REDIS_URL = redis.url;
    cleanups.push(() => redis.dispose());
    say(`redis-server started at ${redis.url}`);
  }
  if (!env.S3_ENDPOINT) {
    const s3 = await startS3Server({ buckets: [env.S3_BUCKET ?? 'runway-media'] });
    Object.assign(env, {
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_REGION: s3.region,
    });
    cleanups.push(() => s3.stop());
    say(`embedded S3 server (s3rver) started at ${s3.endpoint}`);
  }
}

function spawnDevService(name: string): void {
  const child = spawn(process.execPath, ['--import', 'tsx', `services/${name}/src/main.ts`], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pretty = spawn(
    bin('pino-pretty'),
    [
      '--colorize',
      '--ignore',
      'pid,hostname,service',
      '--translateTime',
      'SYS:HH:MM:ss',
      '--messageFormat',
      '{service}: {msg}',
    ],
    {
      cwd: root,
      stdio: ['pipe', 'inherit', 'inherit'],
    },
  );
  child.stdout?.pipe(pretty.stdin as NodeJS.WritableStream);
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk}`));
  child.on('exit', (code, signal) => {
    if (!shuttingDown) say(`${name} exited (${signal ?? code}); stopping the stack`);
    pretty.stdin?.end();
    if (!shuttingDown) void shutdown(1);
  });
  children.push(child);
}

let shuttingDown = false;
async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  say('stopping…');
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  process.exit(code);
}

async function main(): Promise<void> {
  Object.assign(env, {
    NODE_ENV: env.NODE_ENV ?? 'development',
    INGRESS_HOST: env.INGRESS_HOST ?? '127.0.0.1',
    INGRESS_OPS_HOST: env.INGRESS_OPS_HOST ?? '127.0.0.1',
    DASHBOARD_HOST: env.DASHBOARD_HOST ?? '127.0.0.1',
    WORKER_METRICS_HOST: env.WORKER_METRICS_HOST ?? '127.0.0.1',
    CALLBACK_HMAC_KEYS: env.CALLBACK_HMAC_KEYS ?? 'dev-provider-key',
    DASHBOARD_USER: env.DASHBOARD_USER ?? 'admin',
    DASHBOARD_PASSWORD: env.DASHBOARD_PASSWORD ?? 'admin',
    // The simulator serves media over http on 127.0.0.1: allowed here, never by default.
    DOWNLOAD_ALLOW_PRIVATE: env.DOWNLOAD_ALLOW_PRIVATE ?? 'true',
    DOWNLOAD_ALLOW_HTTP: env.DOWNLOAD_ALLOW_HTTP ?? 'true',
  });
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  await startBackingServices();
  for (const name of ['ingress', 'worker', 'dashboard']) spawnDevService(name);

  const ingress = `http://127.0.0.1:${env.INGRESS_PORT ?? 3000}`;
  // The ingress's /readyz and /metrics are on its internal ops listener.
  const ingressOps = `http://127.0.0.1:${env.INGRESS_OPS_PORT ?? 9465}`;
  const dashboard = `http://127.0.0.1:${env.DASHBOARD_PORT ?? 3001}`;
  const worker = `http://127.0.0.1:${env.WORKER_METRICS_PORT ?? 9464}`;
  for (const url of [ingressOps, worker, dashboard]) {
    await waitFor(() => fetch(`${url}/readyz`).then((r) => r.ok), { timeoutMs: 60_000, description: `${url}/readyz` });
  }
  const key = (env.CALLBACK_HMAC_KEYS ?? '').split(',')[0];
  say('the stack is up:');
  say(`  callbacks   POST ${ingress}/callbacks/runway   (HMAC key: ${key})`);
  say(`  Bull Board  ${dashboard}/admin/queues   (user ${env.DASHBOARD_USER}, password ${env.DASHBOARD_PASSWORD})`);
  say(`  admin API   ${dashboard}/api/tasks/<task_id>, ${dashboard}/api/events`);
  say(`  metrics     ${ingressOps}/metrics  ${worker}/metrics  ${dashboard}/metrics`);
  say(`  S3          ${env.S3_ENDPOINT} bucket ${env.S3_BUCKET ?? 'runway-media'}`);
  // The signature does not cover the body: production pins the provider's media hosts.
  say(
    `  media hosts ${env.DOWNLOAD_ALLOWED_HOSTS ? env.DOWNLOAD_ALLOWED_HOSTS : 'any (in production set DOWNLOAD_ALLOWED_HOSTS=<the provider media hosts>, see docs/security.md)'}`,
  );
  say('try a simulated batch (media served by the simulator, stored in the bucket):');
  say(`  npm run -s simulate -- --ingress ${ingress}/callbacks/runway --hmac-key ${key} --tasks 20`);
  say('Ctrl-C stops everything.');
}

await main();
