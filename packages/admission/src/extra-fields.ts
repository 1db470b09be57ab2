const KNOWN_TOP = new Set(['code', 'msg', 'data', 'taskId']);
const KNOWN_DATA = new Set([
  'task_id',
  'video_id',
  'video_url',
  'image_url',
  'result_video_url',
  'result_image_url',
  'callbackType',
]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function pickUnknown(source: Record<string, unknown>, known: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) if (!known.has(key)) out[key] = value;
  return out;
}

/**
 * The fields of a callback body that the schema does not model. They are kept with the
 * task (docs/architecture.md §2: unknown fields are stored, never a reason to reject).
 */
export function extraFields(body: unknown): Record<string, unknown> {
  if (!isRecord(body)) return {};
  const extra = pickUnknown(body, KNOWN_TOP);
  if (isRecord(body.data)) {
    const data = pickUnknown(body.data, KNOWN_DATA);
    if (Object.keys(data).length > 0) extra.data = data;
  }
  return extra;
}
