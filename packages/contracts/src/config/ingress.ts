import { isIP } from 'node:net';
import { z } from 'zod';
import { CommonEnvSchema, refineCommonEnv } from './common.js';
import { envBoolean, envInt, envList, envPort, parseEnv } from './env.js';
import { JobPolicyEnvSchema } from './job-policy.js';

const cidr = z.string().refine((value) => {
  const [address, bits, ...rest] = value.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128);
}, 'must be an IP address or CIDR such as 203.0.113.0/24');

/**
 * Longest `CALLBACK_PATH_TOKEN`; the ingress raises its router's path-parameter limit
 * (Fastify's `maxParamLength`, 100 by default, beyond which it answers 414) to this value.
 */
export const CALLBACK_PATH_TOKEN_MAX_LENGTH = 128;

export const IngressEnvSchema = CommonEnvSchema.extend(JobPolicyEnvSchema.shape)
  .extend({
    /** Interface of the public callback listener. */
    INGRESS_HOST: z.string().default('0.0.0.0'),
    INGRESS_PORT: envPort(3000),
    /** Keys for the provider's HMAC signature; several at once during a rotation. */
    CALLBACK_HMAC_KEYS: envList,
    /** Standard Webhooks secrets (`whsec_<base64>`), for senders that use that scheme. */
    CALLBACK_WEBHOOK_SECRETS: envList,
    /**
     * Secret path segment: `/callbacks/runway/<token>`; 16 to 128 URL-unreserved characters,
     * so the URL needs no encoding and the router never refuses it (e.g. `openssl rand -hex 32`).
     */
    CALLBACK_PATH_TOKEN: z
      .string()
      .min(16, 'must be at least 16 characters')
      .max(CALLBACK_PATH_TOKEN_MAX_LENGTH, `must be at most ${CALLBACK_PATH_TOKEN_MAX_LENGTH} characters`)
      .regex(/^[A-Za-z0-9._~-]+$/, 'only letters, digits and - . _ ~ (URL-safe without encoding)')
      .optional(),
    /**
     * Interface of the internal listener for `/healthz`, `/readyz` and `/metrics` (keep its port
     * off the public network; the public port answers only `/healthz` among them).
     */
    INGRESS_OPS_HOST: z.string().default('0.0.0.0'),
    INGRESS_OPS_PORT: envPort(9465),
    /**
     * ms a client may take to send a whole request, headers and body (Node's `requestTimeout`);
     * a real callback (≤ 64 KiB) arrives in milliseconds, so slow-body clients are cut here.
     */
    INGRESS_REQUEST_TIMEOUT_MS: envInt(10_000, 1000, 600_000),
    /** ms a client may take to send the request headers (Node's `headersTimeout`); ≤ the request timeout. */
    INGRESS_HEADERS_TIMEOUT_MS: envInt(5000, 1000, 600_000),
    /** ms an idle keep-alive connection stays open between requests. */
    INGRESS_KEEP_ALIVE_TIMEOUT_MS: envInt(5000, 100, 600_000),
    /**
     * ms of silence in both directions after which any socket is closed (Fastify's
     * `connectionTimeout`); above the request timeout and the slowest answer (Redis steps).
     */
    INGRESS_IDLE_TIMEOUT_MS: envInt(30_000, 1000, 3_600_000),
    /**
     * Open connections allowed from one address (the socket peer); more are closed at once.
     * Addresses in TRUSTED_PROXIES are exempt (a proxy carries many senders). 0: no cap.
     */
    INGRESS_MAX_CONNECTIONS_PER_IP: envInt(256, 0, 1_000_000),
    /** Open connections in all (Node's `maxConnections`); keep it below `ulimit -n`. 0: no cap. */
    INGRESS_MAX_CONNECTIONS: envInt(1000, 0, 1_000_000),
    /** Sender allow-list (CIDRs). */
    CALLBACK_ALLOWED_IPS: envList.pipe(z.array(cidr)),
    /** Proxies whose X-Forwarded-For is believed (CIDRs); empty: the socket address is the sender. */
    TRUSTED_PROXIES: envList.pipe(z.array(cidr)),
    /** Accepted clock skew of signature timestamps, in seconds. */
    CALLBACK_TOLERANCE_S: envInt(300, 1, 86_400),
    /** Run with no sender authentication: local development only. */
    AUTH_DISABLED: envBoolean(false),
    /** Largest accepted callback body, in bytes. */
    BODY_LIMIT_BYTES: envInt(65_536, 1024, 10 * 1024 * 1024),
    /** Bodies kept in the quarantine list (newest first). */
    QUARANTINE_MAXLEN: envInt(1000, 1, 1_000_000),
    /** ms a request may wait for one Redis command before the answer becomes 503. */
    REDIS_COMMAND_TIMEOUT_MS: envInt(2000, 50, 60_000),
    /**
     * Replicas that must acknowledge a callback's writes (Redis `WAIT`) before it is answered
     * 200; fewer within `REDIS_WAIT_TIMEOUT_MS` → 503 and the provider retries. Default 0: off
     * (the 200 then only means "in the master's memory", see docs/scaling.md).
     */
    REDIS_WAIT_REPLICAS: envInt(0, 0, 16),
    /** ms `WAIT` may block for the replicas' acknowledgement; below REDIS_COMMAND_TIMEOUT_MS. */
    REDIS_WAIT_TIMEOUT_MS: envInt(500, 1, 60_000),
    /** ms to finish in-flight requests on SIGTERM before closing anyway. */
    SHUTDOWN_GRACE_MS: envInt(10_000, 0, 600_000),
  })
  .superRefine((env, ctx) => {
    refineCommonEnv(env, ctx);
    if (env.REDIS_WAIT_REPLICAS > 0 && env.REDIS_WAIT_TIMEOUT_MS >= env.REDIS_COMMAND_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_WAIT_TIMEOUT_MS'],
        message: `must be below REDIS_COMMAND_TIMEOUT_MS (${env.REDIS_COMMAND_TIMEOUT_MS}), or WAIT would be cut short by the command timeout`,
      });
    }
    if (env.INGRESS_HEADERS_TIMEOUT_MS > env.INGRESS_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['INGRESS_HEADERS_TIMEOUT_MS'],
        message: `must not exceed INGRESS_REQUEST_TIMEOUT_MS (${env.INGRESS_REQUEST_TIMEOUT_MS}): the headers are part of the request`,
      });
    }
    if (env.INGRESS_IDLE_TIMEOUT_MS < env.INGRESS_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['INGRESS_IDLE_TIMEOUT_MS'],
        message: `must be at least INGRESS_REQUEST_TIMEOUT_MS (${env.INGRESS_REQUEST_TIMEOUT_MS})`,
      });
    }
    if (env.INGRESS_OPS_PORT !== 0 && env.INGRESS_OPS_PORT === env.INGRESS_PORT) {
      ctx.addIssue({
        code: 'custom',
        path: ['INGRESS_OPS_PORT'],
        message: `must differ from INGRESS_PORT (${env.INGRESS_PORT}): /metrics and /readyz stay off the public port`,
      });
    }
    const configured =
      env.CALLBACK_HMAC_KEYS.length + env.CALLBACK_WEBHOOK_SECRETS.length + env.CALLBACK_ALLOWED_IPS.length > 0 ||
      env.CALLBACK_PATH_TOKEN !== undefined;
    if (!configured && !env.AUTH_DISABLED) {
      ctx.addIssue({
        code: 'custom',
        path: ['CALLBACK_HMAC_KEYS'],
        message:
          'no sender authentication configured: set CALLBACK_HMAC_KEYS, CALLBACK_WEBHOOK_SECRETS, CALLBACK_PATH_TOKEN or CALLBACK_ALLOWED_IPS (or AUTH_DISABLED=true for local development)',
      });
    }
    if (env.AUTH_DISABLED && env.NODE_ENV === 'production') {
      ctx.addIssue({ code: 'custom', path: ['AUTH_DISABLED'], message: 'must not be true when NODE_ENV=production' });
    }
    for (const [i, secret] of env.CALLBACK_WEBHOOK_SECRETS.entries()) {
      if (!/^whsec_[A-Za-z0-9+/]+=*$/.test(secret)) {
        ctx.addIssue({
          code: 'custom',
          path: ['CALLBACK_WEBHOOK_SECRETS', i],
          message: 'must look like whsec_<base64>',
        });
      }
    }
  });

export type IngressConfig = Readonly<z.infer<typeof IngressEnvSchema>>;

export function loadIngressConfig(env: NodeJS.ProcessEnv = process.env): IngressConfig {
  return parseEnv(IngressEnvSchema, env);
}
