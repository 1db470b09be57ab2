import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) that self time needs. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  /** Where the function lives: package or file, trimmed for reading. */
  where: string;
  ms: number;
  /** Share of the busy (non-idle) time, in percent. */
  percent: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  topFunctions: SelfTime[];
  /** Self time grouped by package (node_modules/<pkg>, our workspaces, node internals, V8). */
  byArea: Array<{ area: string; ms: number; percent: number }>;
}

/**
 * The main thread's profile among those `node --cpu-prof` wrote into `dir`: with a module
 * loader such as tsx, the loader's worker thread writes a profile of its own, which is
 * mostly idle. The main thread is the one with the most busy time.
 */
export function mainThreadProfile(dir: string): string {
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile'))
    .map((file) => join(dir, file));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  const busy = (file: string) => summarizeProfileFile(file, 0).busyMs;
  return files.reduce((best, file) => (busy(file) > busy(best) ? file : best));
}

/** The package or area a script URL belongs to. */
export function areaOf(url: string): string {
  if (url === '') return '(V8 / native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg?.[1]) return pkg[1];
  const workspace = /\/(services|packages)\/([^/]+)\//.exec(url);
  if (workspace) return `${workspace[1]}/${workspace[2]}`;
  return 'other';
}

function shortLocation(url: string, line: number): string {
  const trimmed = url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/(services|packages)\//, '$1/');
  return trimmed === '' ? '(native)' : `${trimmed}:${line + 1}`;
}

/** Self time per function and per area; idle time is counted apart so shares are of busy time. */
export function summarizeProfile(profile: CpuProfile, top = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  let idleUs = 0;
  const functions = new Map<string, SelfTime>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}`;
    const entry = functions.get(key) ?? {
      name: frame.functionName || '(anonymous)',
      where: shortLocation(frame.url, frame.lineNumber),
      ms: 0,
      percent: 0,
    };
    entry.ms += us / 1000;
    functions.set(key, entry);
    const area = areaOf(frame.url);
    areas.set(area, (areas.get(area) ?? 0) + us / 1000);
  }
  const busyMs = [...functions.values()].reduce((sum, f) => sum + f.ms, 0);
  const pct = (ms: number) => Math.round((ms / busyMs) * 1000) / 10;
  const topFunctions = [...functions.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top)
    .map((f) => ({ ...f, ms: Math.round(f.ms), percent: pct(f.ms) }));
  const byArea = [...areas.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([area, ms]) => ({ area, ms: Math.round(ms), percent: pct(ms) }));
  return { busyMs: Math.round(busyMs), idleMs: Math.round(idleUs / 1000), topFunctions, byArea };
}

/** Reads and summarizes a `.cpuprofile` file. */
export function summarizeProfileFile(file: string, top?: number): ProfileSummary {
  return summarizeProfile(readProfile(file), top);
}

/** A stage of request handling, recognised by a function on the stack. */
export interface Stage {
  label: string;
  match(frame: CallFrame): boolean;
}

/**
 * Inclusive share of busy time per stage: the samples with a matching function anywhere on
 * their stack. Only synchronous work is attributed (an await's continuation has its own stack).
 */
export function stageShares(profile: CpuProfile, stages: readonly Stage[]): Array<{ label: string; percent: number }> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = stages.map(() => 0);
  let busy = 0;
  const samples = profile.samples ?? [];
  for (let i = 0; i < samples.length; i++) {
    const leaf = byId.get(samples[i] as number);
    if (!leaf || leaf.callFrame.functionName === '(idle)') continue;
    const delta = Math.max(0, profile.timeDeltas?.[i] ?? 0);
    busy += delta;
    const hit = stages.map(() => false);
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame) continue;
      for (const [s, stage] of stages.entries()) if (!hit[s] && stage.match(frame)) hit[s] = true;
    }
    hit.forEach((matched, s) => {
      if (matched) totals[s] = (totals[s] ?? 0) + delta;
    });
  }
  return stages.map((stage, s) => ({ label: stage.label, percent: Math.round(((totals[s] ?? 0) / busy) * 1000) / 10 }));
}

/** Reads a `.cpuprofile` file. */
export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}
