import { parseArgs } from 'node:util';
import { z } from 'zod';

/** `npm run dev -- --help`. */
export const DEV_USAGE = `Usage: npm run dev -- [flags]

Runs Redis, an S3 server, the simulator's media server, ingress, worker and dashboard on this
machine. Data (Redis AOF, S3 objects) stays in the data directory across restarts.

  --fresh                start with empty Redis and S3 data (deletes <data-dir>/redis and <data-dir>/s3)
  --data-dir <path>      where dev data lives, default .dev-data (git-ignored)
  --redis-port <port>    redis-server port, default 6390 (never 6379: that is the machine's own Redis)
  --s3-port <port>       embedded S3 server port, default 4568
  --media-port <port>    simulator media server port, default 3002
  -h, --help             this text

Service ports come from their own variables: INGRESS_PORT (3000), INGRESS_OPS_PORT (9465),
WORKER_METRICS_PORT (9464), DASHBOARD_PORT (3001). REDIS_URL / S3_ENDPOINT use your servers instead.
`;

const Port = z.coerce.number().int().min(1).max(65535);

/** The dev runner's flags after parsing. */
export const DevOptionsSchema = z.object({
  fresh: z.boolean().default(false),
  dataDir: z.string().min(1).default('.dev-data'),
  redisPort: Port.default(6390).refine((port) => port !== 6379, 'must not be 6379, the machine’s own Redis'),
  s3Port: Port.default(4568),
  mediaPort: Port.default(3002),
});
export type DevOptions = z.infer<typeof DevOptionsSchema>;

/** Parses argv (without node and script); throws a ZodError or ERR_PARSE_ARGS_* TypeError naming the problem. */
export function parseDevOptions(argv: string[]): DevOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      fresh: { type: 'boolean' },
      'data-dir': { type: 'string' },
      'redis-port': { type: 'string' },
      's3-port': { type: 'string' },
      'media-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  return DevOptionsSchema.parse({
    fresh: values.fresh,
    dataDir: values['data-dir'],
    redisPort: values['redis-port'],
    s3Port: values['s3-port'],
    mediaPort: values['media-port'],
  });
}
