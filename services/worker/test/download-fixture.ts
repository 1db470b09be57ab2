import { MiB, startTestServer, type TestServer } from '@runway-relay/testkit';
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { DownloadError } from '../src/download/download-error.js';
import type { DownloadOptions } from '../src/download/download-options.js';
import { createSafeAgent, type SafeAgentOptions } from '../src/download/safe-agent.js';

// Test support of the download module: kept out of src/ so no production file can import it.

/** Resolves with the DownloadError `promise` rejects with; fails the test otherwise. */
export async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DownloadError);
  return error as DownloadError;
}

/** Agent settings for tests against the local server: private targets allowed (see safe-agent.test.ts for refusal). */
export const LOCAL_AGENT_OPTIONS: SafeAgentOptions = {
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 5_000,
  idleTimeoutMs: 5_000,
  allowPrivate: true,
};

/** Download limits for tests against the local server; the agent is added by the fixture. */
export const LOCAL_OPTIONS: Omit<DownloadOptions, 'dispatcher'> = {
  maxBytes: 8 * MiB,
  headersTimeoutMs: LOCAL_AGENT_OPTIONS.headersTimeoutMs,
  idleTimeoutMs: LOCAL_AGENT_OPTIONS.idleTimeoutMs,
  maxRedirects: 3,
  allowedHosts: [],
  allowPrivate: true,
  allowHttp: true,
};

export interface DownloadFixture {
  /** A fresh server per test. */
  server: TestServer;
  /** LOCAL_OPTIONS with an agent shared by the file, as the worker shares one per process. */
  options: DownloadOptions;
}

/** Registers hooks giving each test a fresh server and the file a shared safe agent. */
export function useDownloadFixture(): DownloadFixture {
  let agent: Agent | undefined;
  const fixture = {} as DownloadFixture;
  beforeAll(() => {
    agent = createSafeAgent(LOCAL_AGENT_OPTIONS);
  });
  afterAll(async () => {
    await agent?.close();
  });
  beforeEach(async () => {
    if (agent === undefined) throw new Error('the download agent was not created');
    fixture.server = await startTestServer();
    fixture.options = { ...LOCAL_OPTIONS, dispatcher: agent };
  });
  afterEach(async () => {
    await fixture.server.close();
  });
  return fixture;
}
