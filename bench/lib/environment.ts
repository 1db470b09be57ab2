import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** Where a benchmark ran: printed at the top of docs/benchmarks.md. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** Installed versions of the packages on the hot path. */
  packages: Record<string, string>;
  redisServer: string;
  /** 1-minute load average when the run started: other work on a shared machine skews req/s. */
  loadAverage: number;
  /** The commit measured (short hash), marked when tracked files differ from it. */
  commit: string;
}

const PACKAGES = ['fastify', 'bullmq', 'ioredis', 'minio', 'zod', 'autocannon'];

function installedVersion(root: string, name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return manifest.version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

function redisServerVersion(): string {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    return /v=([\d.]+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    return 'not found';
  }
}

function measuredCommit(root: string): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      encoding: 'utf8',
    });
    return dirty.trim() === '' ? hash : `${hash} with uncommitted changes`;
  } catch {
    return 'unknown';
  }
}

/** Describes this machine and the installed versions under `root`. */
export function machineInfo(root: string): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    packages: Object.fromEntries(PACKAGES.map((name) => [name, installedVersion(root, name)])),
    redisServer: redisServerVersion(),
    loadAverage: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    commit: measuredCommit(root),
  };
}

/** One line naming the machine, stored with each result. */
export function machineLine(info: MachineInfo): string {
  return `${info.cpu}, ${info.cores} cores, Node ${info.node}`;
}
