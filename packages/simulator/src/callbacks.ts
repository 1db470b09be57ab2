import { randomUUID } from 'node:crypto';
import { type CallbackFixture, loadFixture } from '@runway-relay/testkit/fixtures';

/** A callback body as the provider posts it (JSON object). */
export type CallbackBody = Record<string, unknown>;

/** Media links and ids to put into a success callback. */
export interface CallbackMedia {
  video?: string;
  image?: string;
  /** Default: a random UUID. */
  videoId?: string;
}

/** Default fixture of each outcome. */
const DEFAULT_FIXTURE = { success: 'success', failure: 'content_policy' } as const;

function allFixtures(): CallbackFixture[] {
  return [...loadFixture('callbacks.json'), ...loadFixture('callback-variants.json')];
}

/** Finds a fixture by name in the shared callback fixtures (both files). */
export function callbackFixture(name: string): CallbackFixture {
  const fixture = allFixtures().find((candidate) => candidate.name === name);
  if (!fixture) throw new Error(`no callback fixture named ${name}`);
  return fixture;
}

/** Every failure fixture (name and expected classifier category), for mixing scenarios. */
export function failureFixtures(): Array<{ name: string; category: string }> {
  return allFixtures()
    .filter((fixture) => fixture.expect_category !== 'success')
    .map((fixture) => ({ name: fixture.name, category: fixture.expect_category }));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets `key` only where the fixture's shape has it, so each variant keeps its own shape. */
function replaceIfPresent(target: Record<string, unknown>, key: string, value: string | undefined): void {
  if (value !== undefined && key in target) target[key] = value;
}

/**
 * Builds a callback body from the shared fixtures (`@runway-relay/contracts`), with `taskId`
 * in place of the fixture's task id (`data.task_id` and/or top-level `taskId`, as the variant
 * has them) and, for a success, the given media links and video id.
 *
 * @param kind success or failure; picks the default fixture (`success` / `content_policy`).
 * @param fixtureName any fixture name of callbacks.json or callback-variants.json.
 */
export function buildCallback(
  kind: 'success' | 'failure',
  taskId: string,
  media: CallbackMedia = {},
  fixtureName: string = DEFAULT_FIXTURE[kind],
): CallbackBody {
  const fixture = callbackFixture(fixtureName);
  const isSuccess = fixture.expect_category === 'success';
  if (isSuccess !== (kind === 'success')) {
    throw new Error(`fixture ${fixtureName} is a ${isSuccess ? 'success' : 'failure'}, not a ${kind}`);
  }
  const body = structuredClone(fixture.body);
  const data = isRecord(body.data) ? body.data : undefined;
  if ('taskId' in body) body.taskId = taskId;
  if (data && ('task_id' in data || !('taskId' in body))) data.task_id = taskId;
  if (!data && !('taskId' in body)) body.taskId = taskId;
  if (data && isSuccess) {
    replaceIfPresent(data, 'video_url', media.video);
    replaceIfPresent(data, 'result_video_url', media.video);
    replaceIfPresent(data, 'image_url', media.image);
    replaceIfPresent(data, 'result_image_url', media.image);
    replaceIfPresent(data, 'video_id', media.videoId ?? randomUUID());
  }
  return body;
}

/** The task id of a callback body: `data.task_id`, else top-level `taskId`; undefined when neither is set. */
export function callbackTaskId(body: CallbackBody): string | undefined {
  const nested = isRecord(body.data) ? body.data.task_id : undefined;
  const id = typeof nested === 'string' && nested !== '' ? nested : body.taskId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
