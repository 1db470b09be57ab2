import { readFileSync } from 'node:fs';
import {
  DashboardEnvSchema,
  IngressEnvSchema,
  loadDashboardConfig,
  loadIngressConfig,
  loadWorkerConfig,
  WorkerEnvSchema,
} from '@runway-relay/contracts';
import { Ajv } from 'ajv';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/*
 * Checks docker-compose.yml without a Docker engine (none runs on CI): the Compose
 * specification's JSON schema (vendored from the dclint npm package, see
 * test/schemas/README.md), plus what a schema cannot see — depends_on targets, Dockerfile
 * build targets, scalable workers, and that each service's environment loads its config.
 */

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface ComposeService {
  image?: string;
  command?: string[] | string;
  build?: { context?: string; target?: string } | string;
  ports?: unknown[];
  container_name?: string;
  depends_on?: Record<string, { condition?: string }> | string[];
  environment?: Record<string, string | number | boolean | null>;
  stop_grace_period?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const composeText = read('docker-compose.yml');
// Compose resolves YAML merge keys (`<<: *anchor`); so must the parser.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const dockerfile = read('Dockerfile');
const envExample = read('.env.example');

/** The services we build, the schema of the variables each reads, and its config loader. */
const apps = {
  ingress: { schema: IngressEnvSchema, load: loadIngressConfig },
  worker: { schema: WorkerEnvSchema, load: loadWorkerConfig },
  dashboard: { schema: DashboardEnvSchema, load: loadDashboardConfig },
} as const;
type AppName = keyof typeof apps;
const appNames = Object.keys(apps) as AppName[];

const INTERPOLATION = /\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g;

/**
 * Resolves `${VAR}`, `${VAR:-default}` and `${VAR:?message}` as compose would with an empty
 * `.env`: defaults apply, and a required variable gets a placeholder (compose would refuse
 * to start without it, so the operator has to set one).
 */
function interpolate(value: string): string {
  return value.replace(INTERPOLATION, (_match, name: string, operator?: string, argument?: string) => {
    if (operator?.endsWith('?')) return `required-${name.toLowerCase()}`;
    if (operator?.endsWith('-')) return argument ?? '';
    return '';
  });
}

function environmentOf(service: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(compose.services[service]?.environment ?? {})) {
    if (value !== null) env[key] = interpolate(String(value));
  }
  return env;
}

/** Variables listed in .env.example, commented out or not (`KEY=` or `# KEY=`). */
const exampleVariables = new Set([...envExample.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]));

const dockerTargets = new Set([...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)\s*$/gim)].map((m) => m[1]));

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    const schema = JSON.parse(read('test/schemas/compose-spec.json')) as Record<string, unknown>;
    expect(schema.$schema).toMatch(/draft-07/);
    const ajv = new Ajv({ allErrors: true });
    // The schema names draft-07 by its https URL; Ajv knows the meta-schema by its http one.
    ajv.addMetaSchema({ ...draft07, $id: String(schema.$schema) });
    const validate = ajv.compile(schema);
    expect(validate(compose), ajv.errorsText(validate.errors, { separator: '\n' })).toBe(true);
    // The validator is not vacuous: a wrong type and an unknown key are caught.
    expect(validate({ services: { x: { image: 'a', ports: 'not-a-list' } } })).toBe(false);
    expect(validate({ services: { x: { image: 'a', replica: 2 } } })).toBe(false);
  });

  it('depends only on services that exist, waiting for redis and minio to be healthy', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const deps = service.depends_on ?? {};
      const targets = Array.isArray(deps) ? deps : Object.keys(deps);
      for (const target of targets) expect(Object.keys(compose.services), `${name} → ${target}`).toContain(target);
      if (!Array.isArray(deps)) {
        for (const [target, options] of Object.entries(deps)) {
          if (target === 'redis' || target === 'minio')
            expect(options.condition, `${name} → ${target}`).toBe('service_healthy');
        }
      }
    }
  });

  it('builds each app from a target the Dockerfile defines', () => {
    for (const target of ['deps', ...appNames]) expect(dockerTargets.has(target), target).toBe(true);
    for (const name of appNames) {
      const build = compose.services[name]?.build;
      expect(typeof build === 'object' ? build.target : undefined, name).toBe(name);
    }
    for (const [name, service] of Object.entries(compose.services)) {
      if (typeof service.build === 'object' && service.build.target !== undefined) {
        expect(dockerTargets.has(service.build.target), `${name}: target ${service.build.target}`).toBe(true);
      }
    }
  });

  it('lets the worker scale: no published ports, no container_name', () => {
    const worker = compose.services.worker;
    expect(worker).toBeDefined();
    expect(worker?.ports).toBeUndefined();
    expect(worker?.container_name).toBeUndefined();
  });

  it('gives each app more stop time than its drain', () => {
    for (const name of appNames) {
      const config = apps[name].load(environmentOf(name));
      const period = compose.services[name]?.stop_grace_period ?? '10s';
      const match = /^(\d+)s$/.exec(period);
      expect(match, `${name}: stop_grace_period ${period}`).not.toBeNull();
      expect(Number(match?.[1]) * 1000, name).toBeGreaterThan(config.SHUTDOWN_GRACE_MS + 2000);
    }
  });

  it("sets only variables each app reads, and its environment loads the app's config in production", () => {
    for (const name of appNames) {
      const env = environmentOf(name);
      const known = Object.keys(apps[name].schema.shape);
      for (const key of Object.keys(env)) expect(known, `${name} sets ${key}`).toContain(key);
      // Anything not set here must have a default in the schema, or loading fails.
      const config = apps[name].load(env);
      expect(config.NODE_ENV, name).toBe('production');
    }
  });

  it('publishes the container ports the Dockerfile exposes', () => {
    const exposed = (target: string) => {
      const stage = dockerfile.split(/^FROM /m).find((part) => new RegExp(`\\sAS\\s+${target}\\s`, 'i').test(part));
      return [...(stage ?? '').matchAll(/^EXPOSE\s+(\d+)/gm)].map((m) => Number(m[1]));
    };
    for (const name of ['ingress', 'dashboard'] as const) {
      const ports = (compose.services[name]?.ports ?? []).map((port) => Number(String(port).split(':').at(-1)));
      expect(ports.length, name).toBeGreaterThan(0);
      for (const port of ports) expect(exposed(name), name).toContain(port);
    }
  });
});

describe('docker-compose.yml for production', () => {
  it('pins every image it pulls to a release (no bare name, no latest, no major-only tag)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build !== undefined) continue; // built here, from the Dockerfile's pinned base
      expect(service.image, name).toMatch(/^[a-z0-9/._-]+:(\d+\.\d+\.\d+[a-z0-9.-]*|RELEASE\.[0-9TZ-]+)$/);
    }
  });

  it('runs Redis noeviction with a maxmemory for the ingress headroom to act on', () => {
    const command = ((compose.services.redis?.command ?? []) as string[]).map((part) => interpolate(part));
    const flag = (name: string) => command[command.indexOf(name) + 1];
    expect(flag('--maxmemory-policy')).toBe('noeviction');
    expect(flag('--maxmemory')).toMatch(/^\d+(mb|gb)$/);
    expect(flag('--appendonly')).toBe('yes');
    for (const name of appNames) {
      expect(Number(environmentOf(name).REDIS_MEMORY_HEADROOM), name).toBeLessThan(1);
    }
  });

  it("gives the apps the relay's own MinIO user, created by minio-init, never the root credentials", () => {
    const init = compose.services['minio-init'];
    const initEnv = environmentOf('minio-init');
    for (const name of ['worker', 'dashboard'] as const) {
      const env = environmentOf(name);
      expect(env.S3_ACCESS_KEY, name).toBe(initEnv.RELAY_USER);
      expect(env.S3_SECRET_KEY, name).toBe(initEnv.RELAY_PASSWORD);
      expect(env.S3_ACCESS_KEY, name).not.toBe(initEnv.MINIO_ROOT_USER);
      expect(env.S3_BUCKET, name).toBe(initEnv.BUCKET);
      const deps = compose.services[name]?.depends_on as Record<string, { condition?: string }>;
      expect(deps['minio-init']?.condition, name).toBe('service_completed_successfully');
    }
    // The relay's password has no default: compose refuses to start without one.
    expect(composeText).toMatch(/S3_SECRET_KEY: \$\{MINIO_RELAY_PASSWORD:\?/);
    expect(init?.depends_on).toEqual({ minio: { condition: 'service_healthy' } });
  });

  it("limits the relay's policy to its bucket and to what the object store calls", () => {
    const script = String(((compose.services['minio-init']?.command ?? []) as string[])[0]);
    const policyText = /<<POLICY\n([\s\S]*?)\nPOLICY\n/.exec(script)?.[1];
    expect(policyText).toBeDefined();
    // Compose turns $$ into $, then the shell substitutes the bucket.
    const policy = JSON.parse((policyText ?? '').replaceAll('$$BUCKET', 'runway-media')) as {
      Statement: Array<{ Effect: string; Action: string[]; Resource: string[] }>;
    };
    const granted = policy.Statement.flatMap((statement) => {
      expect(statement.Effect).toBe('Allow');
      for (const resource of statement.Resource) expect(resource).toMatch(/^arn:aws:s3:::runway-media(\/\*)?$/);
      return statement.Action;
    });
    expect(granted.sort()).toEqual(
      [
        's3:AbortMultipartUpload',
        's3:GetBucketLocation',
        's3:GetObject',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:ListMultipartUploadParts',
        's3:PutObject',
      ].sort(),
    );
    expect(script).toContain('mc admin user add local "$$RELAY_USER" "$$RELAY_PASSWORD"');
    expect(script).toContain('mc admin policy attach local relay-bucket --user "$$RELAY_USER"');
  });
});

describe('.env.example', () => {
  it('lists every variable the services read', () => {
    const missing = appNames.flatMap((name) =>
      Object.keys(apps[name].schema.shape).filter((key) => !exampleVariables.has(key)),
    );
    expect([...new Set(missing)]).toEqual([]);
  });

  it('lists every variable docker-compose.yml interpolates', () => {
    const used = [...composeText.matchAll(INTERPOLATION)].map((match) => match[1] ?? '');
    expect([...new Set(used)].filter((key) => !exampleVariables.has(key))).toEqual([]);
  });
});
