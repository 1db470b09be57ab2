import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port.js';
import { waitFor } from '../wait-for.js';
import type { S3Harness } from './s3-harness.js';

const MINIO_IMAGE = 'minio/minio';
const MINIO_PORT = 9000;
const CREDENTIALS = { accessKey: 'relay-minio', secretKey: 'relay-minio-secret', region: 'us-east-1' } as const;

/**
 * Whether anything testcontainers could talk to may exist, judged from env and well-known
 * socket paths, so a machine without Docker never pays for importing testcontainers.
 */
function dockerHintsPresent(env: NodeJS.ProcessEnv): boolean {
  if (env.DOCKER_HOST || env.TESTCONTAINERS_HOST_OVERRIDE) return true;
  const home = homedir();
  const candidates = [
    '/var/run/docker.sock',
    join(home, '.testcontainers.properties'),
    join(home, '.docker/run/docker.sock'),
    join(home, '.docker/desktop/docker.sock'),
    env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'docker.sock') : '',
    env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'podman/podman.sock') : '',
  ];
  return candidates.some((path) => path !== '' && existsSync(path));
}

let runtimeCheck: Promise<boolean> | undefined;

/**
 * Whether a container runtime answers, checked once per process. testcontainers 11 fails within
 * milliseconds ("Could not find a working container runtime strategy") when none exists.
 */
export function containerRuntimeAvailable(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  runtimeCheck ??= (async () => {
    if (!dockerHintsPresent(env)) return false;
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return true;
    } catch {
      return false;
    }
  })();
  return runtimeCheck;
}

/** Starts MinIO in a container, its API published on a fixed host port so restarts keep it. */
export async function startMinioContainer(): Promise<S3Harness> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const hostPort = await freePort();
  const container = await new GenericContainer(MINIO_IMAGE)
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER: CREDENTIALS.accessKey, MINIO_ROOT_PASSWORD: CREDENTIALS.secretKey })
    .withExposedPorts({ container: MINIO_PORT, host: hostPort })
    .withWaitStrategy(Wait.forHttp('/minio/health/live', MINIO_PORT))
    .start();
  const endpoint = `http://${container.getHost()}:${hostPort}`;
  const client = await getContainerRuntimeClient();
  const handle = client.container.getById(container.getId());
  let suspended = false;

  const waitLive = () =>
    waitFor(async () => (await fetch(`${endpoint}/minio/health/live`)).ok, {
      timeoutMs: 30_000,
      description: `MinIO at ${endpoint}`,
    });
  const suspend = async () => {
    if (suspended) return;
    suspended = true;
    await client.container.stop(handle, { timeout: 5 });
  };
  const resume = async () => {
    if (!suspended) return;
    await client.container.start(handle);
    suspended = false;
    await waitLive();
  };

  return {
    kind: 'minio',
    endpoint,
    ...CREDENTIALS,
    dataDir: undefined,
    stop: async () => {
      await container.stop({ remove: true, removeVolumes: true });
    },
    suspend,
    resume,
    restart: async () => {
      await suspend();
      await resume();
    },
  };
}
