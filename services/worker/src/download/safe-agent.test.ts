import { drain, mp4Bytes, startTestServer, type TestServer } from '@runway-relay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../../test/download-fixture.js';
import { isForbiddenAddress } from './address-policy.js';
import { openDownload } from './download.js';
import type { DownloadOptions } from './download-options.js';
import { createSafeAgent, type SafeAgentOptions } from './safe-agent.js';

const agentOptions: SafeAgentOptions = {
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 5_000,
  idleTimeoutMs: 5_000,
  allowPrivate: false,
};

// allowPrivate: true here skips the up-front literal-IP check, so what is tested is the agent.
const downloadOptions: Omit<DownloadOptions, 'dispatcher'> = {
  headersTimeoutMs: agentOptions.headersTimeoutMs,
  idleTimeoutMs: agentOptions.idleTimeoutMs,
  maxBytes: 1024 * 1024,
  maxRedirects: 3,
  allowedHosts: [],
  allowPrivate: true,
  allowHttp: true,
};

let server: TestServer;
const agents: Array<{ close(): Promise<void> }> = [];

function agent(options: Partial<SafeAgentOptions> = {}) {
  const built = createSafeAgent({ ...agentOptions, ...options });
  agents.push(built);
  return built;
}

beforeEach(async () => {
  server = await startTestServer();
  server.route('/v.mp4', (_req, res) => res.writeHead(200, { 'content-type': 'video/mp4' }).end(mp4Bytes(1_000)));
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await server.close();
});

describe('createSafeAgent', () => {
  it('connects to private addresses when allowPrivate is set', async () => {
    const opened = await openDownload(`${server.origin}/v.mp4`, 'video', {
      ...downloadOptions,
      dispatcher: agent({ allowPrivate: true }),
    });
    expect(await drain(opened.body)).toBe(1_000);
  });

  it('refuses a literal private IP at connect time, before any TCP connection', async () => {
    const error = await failure(
      openDownload(`${server.origin}/v.mp4`, 'video', { ...downloadOptions, dispatcher: agent() }),
    );
    expect(error).toMatchObject({ category: 'blocked_url', retryable: false });
    expect(server.connections()).toBe(0);
  });

  it('refuses a name that resolves to a private address (localhost)', async () => {
    const error = await failure(
      openDownload(`http://localhost:${server.port}/v.mp4`, 'video', { ...downloadOptions, dispatcher: agent() }),
    );
    expect(error).toMatchObject({ category: 'blocked_url', retryable: false });
    expect(server.connections()).toBe(0);
  });

  describe('on redirect hops', () => {
    // Treat the test server's 127.0.0.1 as a "public" first hop; every other private address stays forbidden.
    const publicLoopback = () => agent({ isForbidden: (ip) => ip !== '127.0.0.1' && isForbiddenAddress(ip) });

    it.each([
      ['the metadata service', 'http://169.254.169.254/latest/meta-data/'],
      ['another loopback address', 'http://127.0.0.2:{port}/v.mp4'],
      ['a private network', 'http://10.0.0.1/v.mp4'],
      ['an IPv4-mapped IPv6 address', 'http://[::ffff:169.254.169.254]/'],
    ])('refuses a redirect to %s', async (_name, target) => {
      server.route('/start', (_req, res) =>
        res.writeHead(302, { location: target.replace('{port}', String(server.port)) }).end(),
      );
      const error = await failure(
        openDownload(`${server.origin}/start`, 'video', { ...downloadOptions, dispatcher: publicLoopback() }),
      );
      expect(error).toMatchObject({ category: 'blocked_url', retryable: false });
      expect(server.hits.get('/start')).toBe(1);
    });

    it('follows a redirect to an allowed address', async () => {
      server.route('/start', (_req, res) => res.writeHead(302, { location: '/v.mp4' }).end());
      const opened = await openDownload(`${server.origin}/start`, 'video', {
        ...downloadOptions,
        dispatcher: publicLoopback(),
      });
      expect(opened.redirects).toBe(1);
      await drain(opened.body);
    });
  });
});
