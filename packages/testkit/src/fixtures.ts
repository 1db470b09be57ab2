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

/** Loads the answers of the provider's task-detail (polling) endpoint. */
export function loadRecordDetailFixtures(): Array<z.infer<typeof RecordDetailFixtureSchema>> {
  const url = new URL('../fixtures/record-detail.json', import.meta.url);
  return z.array(RecordDetailFixtureSchema).parse(JSON.parse(readFileSync(url, 'utf8')));
}
