import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** One provider payload from the committed fixtures (a copy of the provider's documented shapes). */
export const CallbackFixtureSchema = z.object({
  name: z.string(),
  expect_category: z.string(),
  body: z.record(z.string(), z.unknown()),
});
export type CallbackFixture = z.infer<typeof CallbackFixtureSchema>;

type FixtureFile = 'callbacks.json' | 'callback-variants.json';

/** Loads a provider-payload fixture file shipped with testkit; tests and the simulator share them. */
export function loadFixture(file: FixtureFile): CallbackFixture[] {
  const url = new URL(`../fixtures/${file}`, import.meta.url);
  return z.array(CallbackFixtureSchema).parse(JSON.parse(readFileSync(url, 'utf8')));
}

export const RecordDetailFixtureSchema = z.object({ name: z.string(), body: z.unknown() });

/**
 * Loads the answers of the provider's task-detail (polling) endpoint: `record-detail.json` for
 * generated and extended videos (`/api/v1/runway/record-detail`), `aleph-record-info.json` for
 * the Aleph model (`/api/v1/aleph/record-info`, shaped like the provider's documented example).
 */
export function loadRecordDetailFixtures(
  file: 'record-detail.json' | 'aleph-record-info.json' = 'record-detail.json',
): Array<z.infer<typeof RecordDetailFixtureSchema>> {
  const url = new URL(`../fixtures/${file}`, import.meta.url);
  return z.array(RecordDetailFixtureSchema).parse(JSON.parse(readFileSync(url, 'utf8')));
}
