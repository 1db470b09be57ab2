import type { ProviderError } from '@runway-relay/provider-client';
import { HttpError } from '@runway-relay/runtime';

/**
 * The dashboard's answer to a failed submission to the provider: a status the caller can act
 * on and a code naming the cause. A 5xx or a timeout may have created the task anyway (the
 * client never repeats such a POST), which the message says.
 */
export function providerFailureAnswer(error: ProviderError): HttpError {
  const said = error.message;
  switch (error.kind) {
    case 'credits':
      return new HttpError(402, 'provider_credits', `the provider's account has no credits left: ${said}`);
    case 'auth':
      return new HttpError(502, 'provider_auth', 'the provider refused PROVIDER_API_KEY (401/403): check the key');
    case 'rate_limited': {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
      return new HttpError(503, 'provider_rate_limited', `the provider is rate limiting us: ${said}`, undefined, {
        'retry-after': String(seconds),
      });
    }
    case 'bad_request':
      return new HttpError(422, 'provider_refused', `the provider refused the request: ${said}`);
    case 'network':
      return error.notSent
        ? new HttpError(503, 'provider_unreachable', `the provider's API could not be reached: ${said}`)
        : new HttpError(
            504,
            'provider_timeout',
            `no answer from the provider (${said}); the task may have been created: check before resubmitting`,
          );
    case 'server':
    case 'invalid_answer':
      return new HttpError(
        502,
        'provider_error',
        `the provider failed (${said}); the task may have been created: check before resubmitting`,
      );
  }
}
