import type { RelayEvent } from '@runway-relay/contracts';
import { z } from 'zod';

/** The application's own data registered with a task, or null. */
export type MetadataFor = (taskId: string) => Promise<Record<string, unknown> | null>;
/** A presigned GET URL of a stored object (packages/storage presigns with the minio client). */
export type Presign = (bucket: string, key: string, ttlSeconds: number) => Promise<string>;

export interface PayloadDependencies {
  metadataFor: MetadataFor;
  presign: Presign;
  /** DELIVERY_LINK_TTL_S. */
  linkTtlS: number;
  now?: () => Date;
}

const MetadataSchema = z.record(z.string(), z.unknown()).nullable();

/**
 * The JSON body POSTed to an endpoint, in the Standard Webhooks shape `{type, timestamp, data}`.
 * `data.event` is the relay event unchanged; the fields beside it are what most receivers need
 * without knowing each event's schema.
 */
export interface WebhookPayload {
  type: RelayEvent['type'];
  timestamp: string;
  data: {
    event_id: string;
    task_id: string;
    outcome: 'stored' | 'failed' | 'conflict' | 'rejected';
    category: string | null;
    retryable: boolean | null;
    action: string | null;
    metadata: Record<string, unknown> | null;
    /** media.stored only: each object with a presigned GET link, fresh for every attempt. */
    objects: Array<{
      kind: string;
      bucket: string;
      key: string;
      size: number;
      sha256: string;
      content_type: string;
      url: string;
      url_expires_at: string;
    }>;
    event: RelayEvent;
  };
}

/**
 * Builds the body of one attempt. Built per attempt (not at fan-out) so a message retried 20 h
 * later still carries links that work; receivers deduplicate by `webhook-id`, not by body.
 */
export async function buildPayload(event: RelayEvent, deps: PayloadDependencies): Promise<WebhookPayload> {
  const metadata = MetadataSchema.parse(await deps.metadataFor(event.task_id));
  const now = (deps.now ?? (() => new Date()))();
  const expiresAt = new Date(now.getTime() + deps.linkTtlS * 1000).toISOString();
  const common = { event_id: event.id, task_id: event.task_id, metadata, event };
  switch (event.type) {
    case 'media.stored': {
      const objects = await Promise.all(
        event.objects.map(async (object) => ({
          kind: object.kind,
          bucket: object.bucket,
          key: object.key,
          size: object.size,
          sha256: object.sha256,
          content_type: object.content_type,
          url: await deps.presign(object.bucket, object.key, deps.linkTtlS),
          url_expires_at: expiresAt,
        })),
      );
      const data = { ...common, outcome: 'stored' as const, category: null, retryable: null, action: null, objects };
      return { type: event.type, timestamp: event.at, data };
    }
    case 'task.failed':
      return {
        type: event.type,
        timestamp: event.at,
        data: {
          ...common,
          outcome: 'failed',
          category: event.category,
          retryable: event.retryable,
          action: event.action,
          objects: [],
        },
      };
    case 'task.conflict':
      return {
        type: event.type,
        timestamp: event.at,
        data: { ...common, outcome: 'conflict', category: null, retryable: null, action: null, objects: [] },
      };
    case 'callback.rejected':
      // The body is in the quarantine: the application learns of it; an operator fixes and replays it.
      return {
        type: event.type,
        timestamp: event.at,
        data: { ...common, outcome: 'rejected', category: null, retryable: null, action: null, objects: [] },
      };
  }
}
