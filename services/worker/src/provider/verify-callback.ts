import type { Callback, CallbackJob } from '@runway-relay/contracts';
import {
  type ProviderClient,
  ProviderError,
  type ProviderTaskState,
  type TaskDetail,
  type TaskModel,
} from '@runway-relay/provider-client';

/** The media to download, as the provider's API gave them. */
export interface MediaUrls {
  video: string;
  cover: string | null;
}

/**
 * One point where a callback and the provider's API disagree. Values are redacted (origin and
 * path, never a query string); `differs_in` says which part of a URL differed, so a difference
 * in the query alone (a link signed again) can be told from another host.
 */
export interface Difference {
  field: 'outcome' | 'video_url' | 'image_url';
  callback: string | null;
  provider: string | null;
  differs_in?: 'presence' | 'origin' | 'path' | 'query';
}

/**
 * What the provider's API said about a callback:
 * - `agree`: same outcome and, for a success, the same media (`urls`: the API's, to download);
 * - `disagree`: another outcome or other media; the API's `detail` is the truth;
 * - `not_final`: the API says the task is still running (a success callback cannot be true yet);
 * - `unknown_task`: the API refused the question as a bad request (404 for a task it does not
 *   know, 400/422): asking again gets the same answer, so the callback can never be confirmed;
 * - `unavailable`: the API could not be asked (after the client's own retries): network, 5xx,
 *   429, a bad key (401/402, which an operator can fix) or an answer of the wrong shape.
 */
export type Verification =
  | { kind: 'agree'; detail: TaskDetail; urls: MediaUrls | null }
  | { kind: 'disagree'; detail: TaskDetail; differences: Difference[] }
  | { kind: 'not_final'; state: ProviderTaskState }
  | { kind: 'unknown_task'; error: ProviderError }
  | { kind: 'unavailable'; error: ProviderError };

const RUNNING: ReadonlySet<ProviderTaskState> = new Set(['wait', 'queueing', 'generating']);

/**
 * A URL in comparable form: the WHATWG parser lowercases the scheme and host, drops a default
 * port and resolves dot segments; the query's parameters are sorted, so their order does not
 * count as a difference. Unparseable input stays as it is (it then differs).
 */
export function normaliseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.hash = '';
    parsed.searchParams.sort();
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Origin and path only: what a difference may show (signed links carry their signature in the query). */
function shown(url: string | null): string | null {
  if (url === null) return null;
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '[invalid url]';
  }
}

function compareUrl(field: 'video_url' | 'image_url', said: string | null, truth: string | null): Difference | null {
  if (said === null && truth === null) return null;
  const base = { field, callback: shown(said), provider: shown(truth) };
  if (said === null || truth === null) return { ...base, differs_in: 'presence' };
  if (normaliseUrl(said) === normaliseUrl(truth)) return null;
  const a = new URL(normaliseUrl(said));
  const b = new URL(normaliseUrl(truth));
  const part = a.origin !== b.origin ? 'origin' : a.pathname !== b.pathname ? 'path' : 'query';
  return { ...base, differs_in: part };
}

/** Compares a callback with a final task detail. */
export function compareWithDetail(callback: Callback, detail: TaskDetail): Verification {
  const apiSuccess = detail.state === 'success' && detail.video !== null;
  if ((callback.outcome === 'success') !== apiSuccess) {
    return {
      kind: 'disagree',
      detail,
      differences: [{ field: 'outcome', callback: callback.outcome, provider: apiSuccess ? 'success' : 'failure' }],
    };
  }
  if (!apiSuccess || detail.video === null) return { kind: 'agree', detail, urls: null };
  const differences = [
    compareUrl('video_url', callback.video_url, detail.video.videoUrl),
    compareUrl('image_url', callback.image_url, detail.video.imageUrl),
  ].filter((difference): difference is Difference => difference !== null);
  if (differences.length > 0) return { kind: 'disagree', detail, differences };
  return { kind: 'agree', detail, urls: { video: detail.video.videoUrl, cover: detail.video.imageUrl } };
}

/**
 * Asks the provider's task-detail API about the job's task and compares its answer with the
 * callback (docs/security.md, "Verified callbacks"). The provider's signature covers only the
 * task id and a timestamp, never the body: the API, asked over TLS with our key, is the truth.
 * Errors other than the client's typed {@link ProviderError} (a bug) are thrown.
 */
export async function verifyAgainstProvider(
  job: CallbackJob,
  client: Pick<ProviderClient, 'taskDetail'>,
  model: TaskModel = 'runway',
): Promise<Verification> {
  let detail: TaskDetail;
  try {
    detail = await client.taskDetail(job.callback.task_id, model);
  } catch (error) {
    if (error instanceof ProviderError) {
      return error.kind === 'bad_request' ? { kind: 'unknown_task', error } : { kind: 'unavailable', error };
    }
    throw error;
  }
  if (RUNNING.has(detail.state)) return { kind: 'not_final', state: detail.state };
  return compareWithDetail(job.callback, detail);
}
