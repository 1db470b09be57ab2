import type { IncomingHttpHeaders } from 'node:http';
import type { AuthMethod } from '@runway-relay/contracts';
import { constantTimeEqual, header } from '@runway-relay/runtime';
import type { AddressMatcher } from './address-matcher.js';
import { verifyProviderSignature } from './provider-signature.js';
import { verifyStandardWebhook } from './standard-webhooks.js';

/** Who may call us (docs/architecture.md §3). Every configured mode must pass; the two signature schemes are alternatives. */
export interface AuthPolicy {
  hmacKeys: readonly string[];
  webhookSecrets: readonly string[];
  pathToken: string | undefined;
  /** CALLBACK_ALLOWED_IPS; null when no list is configured. */
  allowedIps: AddressMatcher | null;
  toleranceS: number;
  /** Development only: accept unauthenticated callbacks. */
  disabled: boolean;
}

export interface AuthRequest {
  sourceIp: string;
  /** The `:token` path segment, or undefined on the token-less routes. */
  pathToken: string | undefined;
  headers: IncomingHttpHeaders;
  /** The body's exact bytes (Standard Webhooks sign them, not a decoded string). */
  rawBody: Buffer;
  taskId: string | undefined;
  nowMs: number;
}

/** The provider signature a callback was accepted with: the replay cache and the supersede rule need it. */
export interface ProviderSignature {
  /** `X-Webhook-Timestamp`, Unix seconds. */
  timestamp: number;
  /** `X-Webhook-Signature` as sent (trimmed). */
  value: string;
}

export type AuthResult =
  | { ok: true; methods: AuthMethod[]; providerSignature?: ProviderSignature }
  | { ok: false; reason: string };

function checkSignature(policy: AuthPolicy, request: AuthRequest): AuthResult {
  const { headers } = request;
  const providerSignature = header(headers, 'x-webhook-signature');
  if (providerSignature !== undefined && policy.hmacKeys.length > 0) {
    const result = verifyProviderSignature({
      keys: policy.hmacKeys,
      taskId: request.taskId,
      timestamp: header(headers, 'x-webhook-timestamp'),
      signature: providerSignature,
      nowMs: request.nowMs,
      toleranceS: policy.toleranceS,
    });
    if (!result.ok) return result;
    return {
      ok: true,
      methods: ['provider_hmac'],
      providerSignature: { timestamp: Number(header(headers, 'x-webhook-timestamp')), value: providerSignature.trim() },
    };
  }
  const standardSignature = header(headers, 'webhook-signature');
  if (standardSignature !== undefined && policy.webhookSecrets.length > 0) {
    const result = verifyStandardWebhook({
      secrets: policy.webhookSecrets,
      id: header(headers, 'webhook-id'),
      timestamp: header(headers, 'webhook-timestamp'),
      signatureHeader: standardSignature,
      rawBody: request.rawBody,
      nowMs: request.nowMs,
      toleranceS: policy.toleranceS,
    });
    return result.ok ? { ok: true, methods: ['standard_webhooks'] } : result;
  }
  return { ok: false, reason: 'signature required' };
}

/** Decides whether a callback comes from an authenticated sender. Pure apart from hashing. */
export function authenticate(policy: AuthPolicy, request: AuthRequest): AuthResult {
  const methods: AuthMethod[] = [];
  if (policy.allowedIps) {
    if (!policy.allowedIps(request.sourceIp)) return { ok: false, reason: 'source address not allowed' };
    methods.push('ip_allowlist');
  }
  if (policy.pathToken !== undefined) {
    if (request.pathToken === undefined) return { ok: false, reason: 'path token required' };
    if (!constantTimeEqual(policy.pathToken, request.pathToken)) return { ok: false, reason: 'wrong path token' };
    methods.push('path_token');
  }
  let providerSignature: ProviderSignature | undefined;
  if (policy.hmacKeys.length > 0 || policy.webhookSecrets.length > 0) {
    const signature = checkSignature(policy, request);
    if (!signature.ok) return signature;
    methods.push(...signature.methods);
    providerSignature = signature.providerSignature;
  }
  if (methods.length > 0) return providerSignature ? { ok: true, methods, providerSignature } : { ok: true, methods };
  return policy.disabled ? { ok: true, methods: ['none'] } : { ok: false, reason: 'no authentication configured' };
}
