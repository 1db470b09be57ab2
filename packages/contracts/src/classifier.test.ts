import { loadFixture } from '@runway-relay/testkit/fixtures';
import { describe, expect, it } from 'vitest';
import { RawCallbackSchema } from './callback.schema.js';
import { classifyProviderFailure, normalizeMessage } from './classifier.js';
import { FAILURE_TAXONOMY } from './failure-taxonomy.js';

const fixtures = [...loadFixture('callbacks.json'), ...loadFixture('callback-variants.json')];

describe('classifyProviderFailure over the shared fixtures', () => {
  it('has fixtures to check', () => {
    expect(fixtures.length).toBeGreaterThan(20);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, fixture) => {
    const callback = RawCallbackSchema.parse(fixture.body);
    if (fixture.expect_category === 'success') {
      expect(callback.outcome).toBe('success');
      expect(callback.video_url).toMatch(/^https:/);
      return;
    }
    expect(callback.outcome).toBe('failure');
    const result = classifyProviderFailure(callback.code, callback.msg);
    expect(result.category).toBe(fixture.expect_category);
    expect(result).toEqual({ category: fixture.expect_category, ...FAILURE_TAXONOMY[result.category] });
  });
});

describe('classifyProviderFailure rules', () => {
  it('ignores case, punctuation and spacing', () => {
    expect(classifyProviderFailure(400, 'YOUR PROMPT WAS CAUGHT BY OUR  A.I.?? no — ai-moderator').category).toBe(
      'prompt_moderation',
    );
    expect(classifyProviderFailure(400, 'reached the LIMIT for concurrent   generations!!').category).toBe(
      'concurrency_limit',
    );
  });

  it('falls back on the code when nothing matches', () => {
    expect(classifyProviderFailure(400, '')).toMatchObject({ category: 'client_error', retryable: false });
    expect(classifyProviderFailure(500, '')).toMatchObject({ category: 'provider_error', retryable: true });
    expect(classifyProviderFailure(418, 'Inappropriate content detected')).toMatchObject({ category: 'unknown' });
  });

  it('does not read "try again later" alone as a quota problem', () => {
    expect(classifyProviderFailure(500, 'Generation failed, please try again later').category).toBe('provider_error');
  });

  it('normalises full-width and CJK punctuation', () => {
    expect(normalizeMessage('Ｉｎａｐｐｒｏｐｒｉａｔｅ，内容！')).toBe('inappropriate内容');
  });
});
