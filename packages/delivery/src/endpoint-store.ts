import { randomBytes, randomUUID } from 'node:crypto';
import type { RedisClient } from '@runway-relay/runtime';
import {
  type Endpoint,
  type EndpointCreate,
  EndpointCreateSchema,
  type EndpointPatch,
  EndpointPatchSchema,
  EndpointSchema,
  type EndpointView,
} from './endpoint.schema.js';
import type { DeliveryKeys } from './keys.js';
import { generateSecret, maskSecret } from './secret.js';
import { assertEndpointUrlAllowed, type EndpointUrlPolicy, type ResolveHost } from './url-policy.js';

/** The id of the endpoint configured by DELIVERY_URL / DELIVERY_SECRET. */
export const ENV_ENDPOINT_ID = 'env';

/** An endpoint the caller may not change that way (the env endpoint's settings live in its environment). */
export class EndpointReadOnlyError extends Error {
  override readonly name = 'EndpointReadOnlyError';
}

export interface EndpointStoreOptions {
  redis: RedisClient;
  keys: DeliveryKeys;
  policy: EndpointUrlPolicy;
  /** DELIVERY_URL + DELIVERY_SECRET, when set. */
  envEndpoint?: { url: string; secret: string } | undefined;
  /** Name resolution of the creation-time URL check; DNS by default. */
  resolve?: ResolveHost;
  now?: () => Date;
}

export interface EndpointStore {
  /** Validates (zod + URL policy) and stores a new endpoint; the full secret is returned only here. */
  create(input: EndpointCreate): Promise<{ endpoint: EndpointView; secret: string }>;
  /** With its secret, for signing. Null when there is no such endpoint. */
  get(id: string): Promise<Endpoint | null>;
  /** Secret masked, for an API. */
  view(id: string): Promise<EndpointView | null>;
  /** Every endpoint, env first, secrets masked. */
  list(): Promise<EndpointView[]>;
  /** Every enabled or disabled endpoint with its secret (fan-out, metrics). */
  all(): Promise<Endpoint[]>;
  /**
   * An opaque token that every change of an endpoint (create, update, disable, rotate, delete)
   * replaces in the same transaction as the change; null before the first change. Read it
   * before {@link all}: a list read after a token is at least as new as that token.
   */
  version(): Promise<string | null>;
  /** Changes settings (URL re-checked); null when there is no such endpoint. The env endpoint only takes `enabled`. */
  update(id: string, patch: EndpointPatch): Promise<EndpointView | null>;
  /** Stops deliveries to it; later messages are parked until it is enabled again. */
  disable(id: string, reason: string): Promise<boolean>;
  /** A new secret, returned once. Not for the env endpoint. */
  rotateSecret(id: string): Promise<string | null>;
  /** Removes the endpoint (its log expires by retention). Not for the env endpoint. */
  delete(id: string): Promise<boolean>;
}

export function toView(endpoint: Endpoint): EndpointView {
  const { secret, ...rest } = endpoint;
  return { ...rest, secret_masked: maskSecret(secret) };
}

/** Hash fields kept as JSON (lists, numbers, booleans, nullables); the others are plain text. */
const JSON_FIELDS = new Set(['event_types', 'enabled', 'max_in_flight', 'rate_limit_per_s', 'disabled_reason']);

function toFields(endpoint: Partial<Endpoint>): string[] {
  const fields: string[] = [];
  for (const [name, value] of Object.entries(endpoint)) {
    if (value === undefined) continue;
    fields.push(name, JSON_FIELDS.has(name) ? JSON.stringify(value) : String(value));
  }
  return fields;
}

function fromFields(hash: Record<string, string>): Endpoint {
  const parsed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(hash)) parsed[name] = JSON_FIELDS.has(name) ? JSON.parse(value) : value;
  return EndpointSchema.parse(parsed);
}

// HSET only when the hash still exists: an update racing a delete must not resurrect a half endpoint.
// KEYS[2] is the version, replaced with the change (ARGV[1]).
const UPDATE_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SET', KEYS[2], ARGV[1])
return 1`;

/**
 * A new version token. Unique rather than a counter: after a failover that lost the last
 * writes, a counter could come back to a value a cache already holds for a different list.
 */
const newVersion = () => randomUUID();

export function createEndpointStore(options: EndpointStoreOptions): EndpointStore {
  const { redis, keys, policy } = options;
  const now = () => (options.now ?? (() => new Date()))().toISOString();
  const check = (url: string) => assertEndpointUrlAllowed(url, policy, options.resolve);

  async function envEndpoint(): Promise<Endpoint | null> {
    const configured = options.envEndpoint;
    if (configured === undefined) return null;
    // Its settings come from the environment; only its runtime state (enabled, created_at) is in Redis.
    const key = keys.endpoint(ENV_ENDPOINT_ID);
    const [, state] = (await redis.multi().hsetnx(key, 'created_at', now()).hgetall(key).exec()) ?? [];
    const hash = (state?.[1] ?? {}) as Record<string, string>;
    const createdAt = hash.created_at ?? now();
    return EndpointSchema.parse({
      id: ENV_ENDPOINT_ID,
      url: configured.url,
      secret: configured.secret,
      event_types: [],
      enabled: hash.enabled === undefined ? true : JSON.parse(hash.enabled),
      max_in_flight: 10,
      rate_limit_per_s: null,
      description: 'DELIVERY_URL (environment)',
      created_at: createdAt,
      updated_at: hash.updated_at ?? createdAt,
      disabled_reason: hash.disabled_reason === undefined ? null : JSON.parse(hash.disabled_reason),
      source: 'env',
    });
  }

  async function get(id: string): Promise<Endpoint | null> {
    if (id === ENV_ENDPOINT_ID) return envEndpoint();
    const hash = await redis.hgetall(keys.endpoint(id));
    return Object.keys(hash).length === 0 ? null : fromFields(hash);
  }

  async function all(): Promise<Endpoint[]> {
    const ids = (await redis.smembers(keys.endpointIds)).sort();
    const found = await Promise.all(ids.map((id) => get(id)));
    const env = await envEndpoint();
    return [...(env ? [env] : []), ...found.filter((e): e is Endpoint => e !== null)];
  }

  async function setState(id: string, fields: Partial<Endpoint>): Promise<boolean> {
    const args = toFields({ ...fields, updated_at: now() });
    if (id === ENV_ENDPOINT_ID) {
      if (options.envEndpoint === undefined) return false;
      await redis
        .multi()
        .hset(keys.endpoint(id), ...args)
        .set(keys.endpointsVersion, newVersion())
        .exec();
      return true;
    }
    return (
      (await redis.eval(UPDATE_IF_EXISTS, 2, keys.endpoint(id), keys.endpointsVersion, newVersion(), ...args)) === 1
    );
  }

  return {
    async create(input) {
      const body = EndpointCreateSchema.parse(input);
      // The URL judged is the URL stored, in the WHATWG form every later reader (undici included)
      // parses the same way: `http://a\\@b/` or `http://:@a/` are not kept as typed.
      const url = (await check(body.url)).href;
      const at = now();
      const endpoint = EndpointSchema.parse({
        id: `ep_${randomBytes(12).toString('hex')}`,
        url,
        secret: body.secret ?? generateSecret(),
        event_types: body.event_types,
        enabled: body.enabled,
        max_in_flight: body.max_in_flight,
        rate_limit_per_s: body.rate_limit_per_s,
        description: body.description,
        created_at: at,
        updated_at: at,
        disabled_reason: body.enabled ? null : 'created disabled',
        source: 'api',
      });
      await redis
        .multi()
        .hset(keys.endpoint(endpoint.id), ...toFields(endpoint))
        .sadd(keys.endpointIds, endpoint.id)
        .set(keys.endpointsVersion, newVersion())
        .exec();
      return { endpoint: toView(endpoint), secret: endpoint.secret };
    },
    get,
    async view(id) {
      const endpoint = await get(id);
      return endpoint === null ? null : toView(endpoint);
    },
    async list() {
      return (await all()).map(toView);
    },
    all,
    version: () => redis.get(keys.endpointsVersion),
    async update(id, input) {
      const patch = EndpointPatchSchema.parse(input);
      if (id === ENV_ENDPOINT_ID && Object.keys(patch).some((name) => name !== 'enabled')) {
        throw new EndpointReadOnlyError(
          'the env endpoint is configured by DELIVERY_URL/DELIVERY_SECRET; only enabled may change',
        );
      }
      const state: Partial<Endpoint> = { ...patch };
      if (patch.url !== undefined) state.url = (await check(patch.url)).href;
      if (patch.enabled === true) state.disabled_reason = null;
      if (patch.enabled === false) state.disabled_reason = 'disabled by an operator';
      if (!(await setState(id, state))) return null;
      const endpoint = await get(id);
      return endpoint === null ? null : toView(endpoint);
    },
    disable: (id, reason) => setState(id, { enabled: false, disabled_reason: reason.slice(0, 500) }),
    async rotateSecret(id) {
      if (id === ENV_ENDPOINT_ID)
        throw new EndpointReadOnlyError('the env endpoint takes its secret from DELIVERY_SECRET');
      const secret = generateSecret();
      return (await setState(id, { secret })) ? secret : null;
    },
    async delete(id) {
      if (id === ENV_ENDPOINT_ID)
        throw new EndpointReadOnlyError('the env endpoint is removed by unsetting DELIVERY_URL');
      // Existence is the id set's: an attempt ending just after a delete may write the breaker
      // or in-flight key again, which must not make a second delete "find" the endpoint.
      const [, removed] = (await redis
        .multi()
        .del(keys.endpoint(id), keys.breaker(id), keys.inFlight(id))
        .srem(keys.endpointIds, id)
        .set(keys.endpointsVersion, newVersion())
        .exec()) ?? [null, [null, 0]];
      return Number(removed?.[1] ?? 0) > 0;
    },
  };
}
