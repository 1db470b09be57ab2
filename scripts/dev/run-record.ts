import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

/** A process the dev runner started: enough to find it again and to know it is still that one. */
export const RecordedProcessSchema = z.object({
  /** `runner`, `redis`, `ingress`, `worker`, `dashboard`. */
  name: z.string().min(1).max(64),
  pid: z.number().int().positive(),
  /** See `processIdentity`: a pid given to a later process does not match it. */
  identity: z.string().min(1).max(200),
});
export type RecordedProcess = z.infer<typeof RecordedProcessSchema>;

/** `<data-dir>/run.json`: the running dev runner and what it started, removed when it stops. */
export const RunRecordSchema = z.object({
  runner: RecordedProcessSchema,
  processes: z.array(RecordedProcessSchema).max(32),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

/** The record in `file`; undefined when there is none, or it is not one (nothing can be trusted then). */
export function readRunRecord(file: string): RunRecord | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = RunRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the record at once (write, then rename): a runner killed mid-write leaves the old one. */
export function writeRunRecord(file: string, record: RunRecord): void {
  const next = `${file}.${process.pid}.tmp`;
  writeFileSync(next, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(next, file);
}

export function removeRunRecord(file: string): void {
  rmSync(file, { force: true });
}
