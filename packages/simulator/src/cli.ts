/**
 * `npm run -s simulate` — drives a running ingress with the provider simulator.
 *
 * Starts the simulator's media server on 127.0.0.1, posts a mix of success and failure
 * callbacks (some duplicated) to `--ingress`, prints the summary on stdout as one line of JSON,
 * then keeps the media server up until every success task's video and cover were fetched at
 * least once (or `--linger-ms` passes) and exits: 0 when every delivery was acknowledged and
 * every media file fetched, 1 otherwise; 2 for bad flags. Everything else goes to stderr, so
 * `npm run -s simulate … | jq` reads the summary; without `-s` npm adds its own header lines to
 * stdout, and the summary is the last line.
 *
 * The media links point at 127.0.0.1 over plain HTTP, which the worker refuses by default (SSRF
 * rules): run the worker with DOWNLOAD_ALLOW_PRIVATE=true and DOWNLOAD_ALLOW_HTTP=true.
 *
 * Flags: see {@link USAGE} (`--help`).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startMediaServer } from './media-server.js';
import type { FailureOverride } from './scenario.js';
import { runScenario } from './scenario.js';
import { waitForMediaFetched } from './wait-media.js';

const Ratio = z.coerce.number().min(0).max(1);

/** `--help`; also the reference of every flag (env fallbacks in brackets). */
export const USAGE = `Usage: npm run -s simulate -- [flags]

Sends simulated provider callbacks to an ingress and prints a JSON summary (one line) on stdout.

  --ingress <url>        callback URL [SIM_INGRESS_URL], default http://127.0.0.1:3000/callbacks/runway
  --tasks <n>            tasks to simulate, default 20
  --failures <ratio>     share of failure callbacks, default 0.2 (1 when --code or --msg is given)
  --duplicates <ratio>   share of callbacks delivered twice, default 0.1
  --code <n>             provider code of every failure callback (e.g. 400, 500), instead of the fixtures'
  --msg <text>           provider message of every failure callback, any language
                         (e.g. "检测到不当内容,请替换图像或视频。"), instead of the fixtures'
  --hmac-key <key>       signing key [first of CALLBACK_HMAC_KEYS]; unsigned when neither is set
  --media-host <ip>      media server address, default 127.0.0.1
  --media-port <port>    media server port, default 0 (free)
  --video-size <bytes>   size of each video, default 262144
  --concurrency <n>      deliveries in flight, default 4
  --timeout-ms <ms>      per-attempt timeout, default 15000
  --retries <n>          retries per delivery, default 3
  --retry-delays <list>  comma-separated ms, default 1000,5000,15000
  --linger-ms <ms>       longest wait for media fetches, default 60000
  -h, --help             this text

Exit status: 0 every delivery acknowledged and every media file fetched, 1 otherwise, 2 bad flags.
Use npm's -s (--silent): without it npm writes its own lines to stdout before the summary.
`;

/** The CLI's options after parsing; every field documented in the header comment. */
export const CliOptionsSchema = z.object({
  ingress: z.url().default('http://127.0.0.1:3000/callbacks/runway'),
  tasks: z.coerce.number().int().min(1).max(1_000_000).default(20),
  failures: Ratio.default(0.2),
  duplicates: Ratio.default(0.1),
  hmacKey: z.string().min(1).optional(),
  mediaHost: z.string().min(1).default('127.0.0.1'),
  mediaPort: z.coerce.number().int().min(0).max(65535).default(0),
  videoSize: z.coerce
    .number()
    .int()
    .min(0)
    .default(256 * 1024),
  concurrency: z.coerce.number().int().min(1).default(4),
  timeoutMs: z.coerce.number().int().min(1).default(15_000),
  retries: z.coerce.number().int().min(0).default(3),
  retryDelays: z
    .string()
    .default('1000,5000,15000')
    .transform((text) => text.split(',').map((part) => Number(part.trim())))
    .pipe(z.array(z.number().int().min(0)).min(1)),
  lingerMs: z.coerce.number().int().min(0).default(60_000),
  /** 200 is a success, which the scenario sends anyway: a failure must carry another code. */
  code: z.coerce
    .number()
    .int()
    .min(100)
    .max(999)
    .refine((code) => code !== 200, 'must not be 200 (a success)')
    .optional(),
  msg: z.string().min(1).max(4096).optional(),
});
export type CliOptions = z.infer<typeof CliOptionsSchema>;

const FLAGS = [
  'ingress',
  'tasks',
  'failures',
  'duplicates',
  'hmac-key',
  'media-host',
  'media-port',
  'video-size',
  'concurrency',
  'timeout-ms',
  'retries',
  'retry-delays',
  'linger-ms',
  'code',
  'msg',
] as const;

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * Parses argv (without node and script) and env into {@link CliOptions}, or `'help'` for
 * `--help` / `-h`. Throws a ZodError naming bad values, a TypeError (ERR_PARSE_ARGS_*) for
 * unknown flags.
 */
export function parseCliOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(FLAGS.map((flag) => [flag, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const raw: Record<string, unknown> = Object.fromEntries(
    Object.entries(values).map(([flag, value]) => [camel(flag), value]),
  );
  // A chosen code or message is what the run is about: every task fails with it unless told otherwise.
  if (raw.code !== undefined || raw.msg !== undefined) raw.failures ??= '1';
  raw.ingress ??= env.SIM_INGRESS_URL;
  raw.hmacKey ??= env.CALLBACK_HMAC_KEYS?.split(',')[0]?.trim() || undefined;
  return CliOptionsSchema.parse(raw);
}

function failureOverride(options: CliOptions): FailureOverride | undefined {
  if (options.code === undefined && options.msg === undefined) return undefined;
  return {
    ...(options.code !== undefined && { code: options.code }),
    ...(options.msg !== undefined && { msg: options.msg }),
  };
}

/** Runs the simulation; returns the process exit code. */
export async function runCli(options: CliOptions, log: (line: string) => void = console.error): Promise<number> {
  const failure = failureOverride(options);
  const media = await startMediaServer({ host: options.mediaHost, port: options.mediaPort });
  try {
    log(`simulator media server on ${media.origin}; sending ${options.tasks} tasks to ${options.ingress}`);
    if (!options.hmacKey) log('no --hmac-key or CALLBACK_HMAC_KEYS: callbacks are sent unsigned');
    const summary = await runScenario({
      ingressUrl: options.ingress,
      ...(options.hmacKey !== undefined && { hmacKey: options.hmacKey }),
      media,
      tasks: options.tasks,
      failureRatio: options.failures,
      duplicateRatio: options.duplicates,
      concurrency: options.concurrency,
      retryDelaysMs: options.retryDelays,
      timeoutMs: options.timeoutMs,
      retries: options.retries,
      videoSize: options.videoSize,
      ...(failure !== undefined && { failure }),
    });
    // One line, and the only one on stdout: parseable as a whole with `npm run -s`, as the last line without.
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    // Media of a task whose callback never got through will not be fetched: do not wait for it.
    const awaited = summary.expected.success.filter((id) => !summary.unackedTaskIds.includes(id));
    const fetched = await waitForMediaFetched(media, awaited, options.lingerMs);
    log(
      `media fetched for ${fetched.fetched.length}/${awaited.length} acknowledged success tasks` +
        (fetched.missing.length > 0 ? `; never fetched: ${fetched.missing.join(', ')}` : ''),
    );
    return summary.failedDeliveries === 0 && fetched.missing.length === 0 ? 0 : 1;
  } finally {
    await media.close();
  }
}

async function main(): Promise<void> {
  let options: CliOptions | 'help';
  try {
    options = parseCliOptions(process.argv.slice(2));
  } catch (error) {
    const problem =
      error instanceof z.ZodError ? z.prettifyError(error) : error instanceof Error ? error.message : String(error);
    process.stderr.write(`${problem}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  process.exitCode = await runCli(options);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
