import { type FailureCategory, type FailureClass, failureClass } from './failure-taxonomy.js';

/**
 * Lower-cases, folds compatibility forms (full-width letters) and drops punctuation,
 * symbols and spaces, because the provider's pages spell the same message with
 * different case, punctuation and spacing ("AI moderator!" / "ai moderator.").
 */
export function normalizeMessage(message: string): string {
  return message
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}\s]+/gu, '');
}

interface Rule {
  category: FailureCategory;
  /** Any of these (normalised) fragments in the normalised message selects the rule. */
  fragments: readonly string[];
}

/** First match wins; the order puts the most specific meanings first. */
const RULES: readonly Rule[] = (
  [
    { category: 'content_policy', fragments: ['inappropriate content', '不当内容', '违规内容'] },
    { category: 'prompt_moderation', fragments: ['ai moderator', 'nsfw', '审核'] },
    { category: 'invalid_input', fragments: ['cannot exceed', 'too long', '过长', '不能超过'] },
    { category: 'invalid_image_format', fragments: ['image format', 'get image info failed', '图像格式', '图片格式'] },
    { category: 'unsupported_dimensions', fragments: ['width or height', '宽度或高度'] },
    {
      category: 'quota_exceeded',
      fragments: ['upgrade to', 'membership', 'free trials', 'subscribe now', 'quota', '会员', '额度'],
    },
    { category: 'concurrency_limit', fragments: ['concurrent generations', 'concurrency', '并发'] },
    {
      category: 'provider_error',
      fragments: ['network reasons', 'network error', 'internal error', 'server error', '网络原因', '内部错误'],
    },
  ] satisfies Rule[]
).map((rule) => ({ ...rule, fragments: rule.fragments.map(normalizeMessage) }));

/**
 * Classifies a failure callback from its provider code and message (docs/architecture.md §7).
 * Pure: same input, same answer. Codes other than 400 and 500 are `unknown`.
 */
export function classifyProviderFailure(code: number, message: string): FailureClass {
  if (code !== 400 && code !== 500) return failureClass('unknown');
  const normalized = normalizeMessage(message);
  const rule = RULES.find((r) => r.fragments.some((fragment) => normalized.includes(fragment)));
  if (rule) return failureClass(rule.category);
  return failureClass(code === 500 ? 'provider_error' : 'client_error');
}
