import { type AdmitDeps, admitCallback, type ClaimDecision, prepareAdmission } from '@runway-relay/admission';
import {
  type AuditEntry,
  appendAudit,
  describeIssues,
  type QuarantineEntry,
  QuarantineEntrySchema,
  RawCallbackSchema,
} from '@runway-relay/contracts';
import type { Logger } from '@runway-relay/runtime';
import type { Actor } from './operator.js';

/** A quarantined body in a listing: what and why, without the body itself. */
export type QuarantineRow = Omit<QuarantineEntry, 'body'> & { body_bytes: number };

export type ReplayResult =
  | { ok: true; decision: ClaimDecision; taskId: string }
  | { ok: false; reason: 'not_found' }
  /** The body (edited or not) still fails the schema: nothing was changed. */
  | { ok: false; reason: 'invalid'; issues: Array<{ path: string; message: string }> };

/** What admitting a callback needs (the replay takes a delivery's path), plus the log and clock. */
export interface QuarantineAdminDeps extends AdmitDeps {
  logger: Logger;
  now?: () => number;
}

export interface QuarantineAdmin {
  list(options: { offset: number; limit: number }): Promise<{ entries: QuarantineRow[]; total: number }>;
  get(id: string): Promise<QuarantineEntry | null>;
  /** Feeds the body (or `edited`, a corrected one) through the ingress's path; the entry goes when admitted. */
  replay(id: string, actor: Actor, edited?: unknown): Promise<ReplayResult>;
  discard(id: string, actor: Actor): Promise<boolean>;
}

function parseEntry(text: string | null): QuarantineEntry | null {
  if (text === null) return null;
  const json = parseBody(text);
  const parsed = json.ok ? QuarantineEntrySchema.safeParse(json.value) : undefined;
  return parsed?.success ? parsed.data : null;
}

function parseBody(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * The quarantine of authenticated bodies that failed the schema (the ingress writes it):
 * listed newest first, inspected whole, replayed through the very path a delivery takes
 * (`admitCallback`: schema, job contract, claim, enqueue), or discarded.
 */
export function createQuarantineAdmin(deps: QuarantineAdminDeps): QuarantineAdmin {
  const { redis, keys } = deps;
  const now = deps.now ?? Date.now;
  prepareAdmission(redis);

  const read = async (id: string): Promise<QuarantineEntry | null> => {
    const text = await redis.hget(keys.quarantineEntries, id);
    const entry = parseEntry(text);
    if (text !== null && entry === null)
      deps.logger.warn({ quarantine_id: id }, 'quarantine entry does not match its schema');
    return entry;
  };

  const remove = async (id: string) => {
    const [[, removed] = [null, 0]] =
      (await redis.multi().hdel(keys.quarantineEntries, id).zrem(keys.quarantine, id).exec()) ?? [];
    return Number(removed) > 0;
  };

  return {
    async list({ offset, limit }) {
      const [ids, total] = await Promise.all([
        redis.zrevrange(keys.quarantine, offset, offset + limit - 1),
        redis.zcard(keys.quarantine),
      ]);
      const texts = ids.length > 0 ? await redis.hmget(keys.quarantineEntries, ...ids) : [];
      const entries: QuarantineRow[] = [];
      for (const text of texts) {
        const entry = parseEntry(text);
        if (entry === null) continue;
        const { body, ...rest } = entry;
        entries.push({ ...rest, body_bytes: Buffer.byteLength(body) });
      }
      return { entries, total };
    },

    get: read,

    async replay(id, actor, edited) {
      const entry = await read(id);
      if (entry === null) return { ok: false, reason: 'not_found' };
      let body: unknown;
      if (edited !== undefined) body = edited;
      else {
        const parsedBody = parseBody(entry.body);
        if (!parsedBody.ok)
          return { ok: false, reason: 'invalid', issues: [{ path: '(body)', message: 'is not JSON' }] };
        body = parsedBody.value;
      }
      const parsed = RawCallbackSchema.safeParse(body);
      if (!parsed.success) return { ok: false, reason: 'invalid', issues: describeIssues(parsed.error) };
      const callback = parsed.data;
      const nowMs = now();
      const claim = await admitCallback(deps, {
        callback,
        body,
        receipt: {
          received_at: new Date(nowMs).toISOString(),
          request_id: `replay-${entry.request_id}`.slice(0, 128),
          source_ip: entry.source_ip,
          auth: ['operator_replay'],
          path: entry.path,
        },
        nowMs,
      });
      await remove(id);
      const audit: AuditEntry = {
        at: new Date(nowMs).toISOString(),
        action: 'quarantine_replay',
        operator: actor.operator,
        via: actor.via,
        from_status: null,
        reason: `quarantine ${id} → ${claim.decision}`,
      };
      await appendAudit(redis.multi(), keys.taskAudit(callback.task_id), audit, deps.ttlSeconds).exec();
      deps.logger.info(
        {
          audit: true,
          action: 'quarantine_replay',
          operator: actor.operator,
          via: actor.via,
          quarantine_id: id,
          task_id: callback.task_id,
          edited: edited !== undefined,
          decision: claim.decision,
        },
        'quarantined callback replayed from the dashboard',
      );
      return { ok: true, decision: claim.decision, taskId: callback.task_id };
    },

    async discard(id, actor) {
      const entry = await read(id);
      const removed = await remove(id);
      if (removed) {
        deps.logger.info(
          {
            audit: true,
            action: 'quarantine_discard',
            operator: actor.operator,
            via: actor.via,
            quarantine_id: id,
            task_id: entry?.task_id ?? undefined,
          },
          'quarantined callback discarded from the dashboard',
        );
      }
      return removed;
    },
  };
}
