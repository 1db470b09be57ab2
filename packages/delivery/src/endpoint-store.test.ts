import { DeliveryEnvSchema } from '@runway-relay/contracts';
import { useRedisClient } from '@runway-relay/testkit/per-file';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { assertEnvEndpointAllowed } from './delivery-core.js';
import { createEndpointStore, ENV_ENDPOINT_ID, EndpointReadOnlyError } from './endpoint-store.js';
import { deliveryKeys } from './keys.js';
import { assertEndpointUrlAllowed, EndpointUrlError } from './url-policy.js';

const redis = useRedisClient();
let n = 0;
const strict = { allowHttp: false, allowPrivate: false };
const publicDns = async () => ['93.184.215.14'];
const ENV_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

function store(options: { env?: boolean } = {}) {
  n += 1;
  return createEndpointStore({
    redis,
    keys: deliveryKeys(`s${n}`),
    policy: strict,
    resolve: publicDns,
    envEndpoint: options.env ? { url: 'https://app.example.com/env-hooks', secret: ENV_SECRET } : undefined,
  });
}

describe('endpoint store', () => {
  it('creates, gets, lists, updates and deletes; the secret is returned in full only at creation', async () => {
    const endpoints = store();
    const { endpoint, secret } = await endpoints.create({
      url: 'https://hooks.example.com/runway',
      event_types: ['media.stored'],
      max_in_flight: 3,
    });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    // The generated secret is one Standard Webhooks accepts.
    expect(() => new Webhook(secret)).not.toThrow();
    expect(endpoint).toMatchObject({ url: 'https://hooks.example.com/runway', enabled: true, max_in_flight: 3 });
    expect(endpoint).not.toHaveProperty('secret');
    expect(endpoint.secret_masked).toBe(`whsec_…${secret.slice(-4)}`);
    expect(JSON.stringify(await endpoints.list())).not.toContain(secret.slice(6, 20));
    expect((await endpoints.get(endpoint.id))?.secret).toBe(secret);

    const updated = await endpoints.update(endpoint.id, { enabled: false, event_types: [] });
    expect(updated).toMatchObject({ enabled: false, disabled_reason: 'disabled by an operator', event_types: [] });
    expect(await endpoints.update(endpoint.id, { enabled: true })).toMatchObject({ disabled_reason: null });
    const rotated = await endpoints.rotateSecret(endpoint.id);
    expect(rotated).not.toBe(secret);
    expect((await endpoints.get(endpoint.id))?.secret).toBe(rotated);

    expect(await endpoints.delete(endpoint.id)).toBe(true);
    expect(await endpoints.get(endpoint.id)).toBeNull();
    expect(await endpoints.update(endpoint.id, { enabled: true })).toBeNull();
    expect(await redis.exists(deliveryKeys(`s${n}`).endpoint(endpoint.id))).toBe(0);
    expect(await endpoints.delete(endpoint.id)).toBe(false);
  });

  it('replaces its version with every change (a cache reads the list again only then)', async () => {
    const endpoints = store({ env: true });
    const seen = [await endpoints.version()];
    expect(seen[0]).toBeNull();
    const changed = async (change: () => Promise<unknown>) => {
      await change();
      const version = await endpoints.version();
      expect(seen).not.toContain(version);
      seen.push(version);
    };
    let endpoint = { id: '' };
    await changed(async () => {
      endpoint = (await endpoints.create({ url: 'https://hooks.example.com/' })).endpoint;
    });
    await changed(() => endpoints.update(endpoint.id, { description: 'renamed' }));
    await changed(() => endpoints.disable(endpoint.id, 'answered 410 Gone'));
    await changed(() => endpoints.update(endpoint.id, { enabled: true }));
    await changed(() => endpoints.rotateSecret(endpoint.id));
    await changed(() => endpoints.disable(ENV_ENDPOINT_ID, 'answered 410 Gone'));
    await changed(() => endpoints.update(ENV_ENDPOINT_ID, { enabled: true }));
    await changed(() => endpoints.delete(endpoint.id));
    // Reads, and changes of an endpoint that is not there, keep it.
    const last = await endpoints.version();
    await endpoints.list();
    expect(await endpoints.update(endpoint.id, { description: 'gone' })).toBeNull();
    expect(await endpoints.disable(endpoint.id, 'gone')).toBe(false);
    expect(await endpoints.version()).toBe(last);
  });

  it('refuses bad bodies with the zod issue and changes nothing', async () => {
    const endpoints = store();
    await expect(
      endpoints.create({ url: 'https://a.example.com/', event_types: ['task.deleted' as 'task.failed'] }),
    ).rejects.toThrow(/event_types/);
    await expect(endpoints.create({ url: 'https://a.example.com/', secret: 'hunter2' })).rejects.toThrow(/whsec_/);
    expect(await endpoints.list()).toEqual([]);
  });

  it('shows the env endpoint read-only, with its secret masked; only enabled may change', async () => {
    const endpoints = store({ env: true });
    const [env] = await endpoints.list();
    expect(env).toMatchObject({
      id: ENV_ENDPOINT_ID,
      source: 'env',
      url: 'https://app.example.com/env-hooks',
      enabled: true,
    });
    expect(JSON.stringify(env)).not.toContain(ENV_SECRET.slice(6));
    await expect(endpoints.update(ENV_ENDPOINT_ID, { url: 'https://b.example.com/' })).rejects.toThrow(
      EndpointReadOnlyError,
    );
    await expect(endpoints.delete(ENV_ENDPOINT_ID)).rejects.toThrow(EndpointReadOnlyError);
    await expect(endpoints.rotateSecret(ENV_ENDPOINT_ID)).rejects.toThrow(EndpointReadOnlyError);
    expect(await endpoints.disable(ENV_ENDPOINT_ID, 'answered 410 Gone')).toBe(true);
    expect(await endpoints.view(ENV_ENDPOINT_ID)).toMatchObject({
      enabled: false,
      disabled_reason: 'answered 410 Gone',
    });
    expect(await endpoints.update(ENV_ENDPOINT_ID, { enabled: true })).toMatchObject({ enabled: true });
  });
});

describe('endpoint URL policy at creation', () => {
  it.each([
    ['https://10.0.0.7/hooks', /address 10\.0\.0\.7 is not public/],
    ['https://127.0.0.1:8443/hooks', /not public/],
    ['https://[::1]/hooks', /not public/],
    ['https://[::ffff:169.254.169.254]/latest', /not public/],
    ['https://169.254.169.254/latest/meta-data', /not public/],
    ['http://hooks.example.com/', /scheme http: is not allowed/],
    ['https://user:pw@hooks.example.com/', /credentials/],
  ])('refuses %s', async (url, reason) => {
    const endpoints = store();
    const error = await endpoints.create({ url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointUrlError);
    expect((error as Error).message).toMatch(reason);
    expect(await endpoints.list()).toEqual([]);
  });

  it('refuses a name that resolves to a private address (localhost, through the system resolver)', async () => {
    await expect(assertEndpointUrlAllowed('https://localhost/hooks', strict)).rejects.toThrow(
      /host localhost resolves to .*not a public address/,
    );
  });

  it('refuses a name that resolves to a private address among public ones', async () => {
    const resolve = async () => ['93.184.215.14', '10.1.2.3'];
    await expect(assertEndpointUrlAllowed('https://mixed.example.com/', strict, resolve)).rejects.toThrow(
      /10\.1\.2\.3/,
    );
  });

  it('refuses an update to a private URL too', async () => {
    const endpoints = store();
    const { endpoint } = await endpoints.create({ url: 'https://hooks.example.com/' });
    await expect(endpoints.update(endpoint.id, { url: 'https://192.168.1.10/' })).rejects.toThrow(EndpointUrlError);
    expect((await endpoints.get(endpoint.id))?.url).toBe('https://hooks.example.com/');
  });

  it('checks the env endpoint the same way (for the roots to run at start)', async () => {
    const config = (url: string) => ({
      ...DeliveryEnvSchema.parse({ DELIVERY_URL: url, DELIVERY_SECRET: ENV_SECRET }),
      QUEUE_PREFIX: 'x',
    });
    await expect(assertEnvEndpointAllowed(config('https://10.0.0.1/h'), publicDns)).rejects.toThrow(/not public/);
    await expect(assertEnvEndpointAllowed(config('https://app.example.com/h'), publicDns)).resolves.toBeUndefined();
  });

  it('accepts private addresses and http only when allowed', async () => {
    await expect(
      assertEndpointUrlAllowed('http://127.0.0.1:9/h', { allowHttp: true, allowPrivate: true }),
    ).resolves.toBeInstanceOf(URL);
    await expect(
      assertEndpointUrlAllowed('http://127.0.0.1:9/h', { allowHttp: true, allowPrivate: false }),
    ).rejects.toThrow(/not public/);
  });
});
