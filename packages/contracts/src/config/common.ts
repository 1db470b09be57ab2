import { z } from 'zod';
import { DEFAULT_QUEUE_NAME } from '../job.schema.js';
import { envInt } from './env.js';

/** Variables every service reads. */
export const CommonEnvSchema = z.object({
  /** Redis connection URL. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; use a hash tag such as `{runway}` on Redis Cluster. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9{}_-]+$/, 'letters, digits, _ - { } only')
    .default('bull'),
  /** Name of the callbacks queue. */
  QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default(DEFAULT_QUEUE_NAME),
  /** Days a task's state record is kept in Redis (DESIGN §4: at least 30). */
  TASK_TTL_DAYS: envInt(30, 30, 3650),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
});
export type CommonConfig = z.infer<typeof CommonEnvSchema>;
