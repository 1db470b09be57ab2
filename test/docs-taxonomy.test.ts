import { readFileSync } from 'node:fs';
import { FAILURE_TAXONOMY, FailureCategorySchema } from '@runway-relay/contracts';
import { describe, expect, it } from 'vitest';

// The failure table exists three times for three readers (the README for users, architecture.md
// for the design, worker.md for operators); a category added to the taxonomy must reach each.
const DOCS = ['README.md', 'docs/architecture.md', 'docs/worker.md'] as const;

/** The categories named in a markdown table row of `path` (a row may name several: `a` / `b`). */
function tableCategories(path: string): Set<string> {
  const text = readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
  const named = new Set<string>();
  for (const line of text.split('\n').filter((l) => l.startsWith('| `'))) {
    const firstCell = line.split('|')[1] ?? '';
    for (const match of firstCell.matchAll(/`([a-z_]+)`/g)) named.add(match[1] ?? '');
  }
  return named;
}

describe('the failure taxonomy in the docs', () => {
  it.each(DOCS)('%s has a table row for every category', (path) => {
    const named = tableCategories(path);
    const missing = FailureCategorySchema.options.filter((category) => !named.has(category));
    expect(missing).toEqual([]);
    expect(Object.keys(FAILURE_TAXONOMY).sort()).toEqual([...FailureCategorySchema.options].sort());
  });
});
