/**
 * The streaming baseline: the same HTTP body piped straight into the same S3 server with the
 * same minio client settings, and nothing else (no SSRF agent, no sniffing, no hashing, no
 * metadata). Env: URL, WARMUP_URL, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION, KEY.
 * A small warm-up transfer runs first, so the figures, like the worker's, are of a warm
 * process. Prints `{"ms":…,"bytes":…,"rssGrowth":…}` (peak RSS over the pre-transfer RSS).
 */
import * as Minio from 'minio';
import { request } from 'undici';

const env = process.env;
const endpoint = new URL(env.S3_ENDPOINT ?? '');
const client = new Minio.Client({
  endPoint: endpoint.hostname,
  port: Number(endpoint.port),
  useSSL: false,
  accessKey: env.S3_ACCESS_KEY ?? '',
  secretKey: env.S3_SECRET_KEY ?? '',
  region: env.S3_REGION ?? 'us-east-1',
  pathStyle: true,
  partSize: 8 * 1024 * 1024,
});
async function pipe(url: string, key: string): Promise<number> {
  const response = await request(url);
  const length = Number(response.headers['content-length']);
  await client.putObject('runway-media', key, response.body, length);
  return length;
}

await pipe(env.WARMUP_URL ?? '', `${env.KEY}.warmup`);
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
}, 100);
const started = performance.now();
const bytes = await pipe(env.URL ?? '', env.KEY ?? 'baseline');
const ms = performance.now() - started;
clearInterval(sampler);
process.stdout.write(`${JSON.stringify({ ms, bytes, rssGrowth: rssPeak - rssBefore })}\n`);
