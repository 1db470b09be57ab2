import { Webhook } from 'standardwebhooks';

/** The Standard Webhooks headers of one attempt: `webhook-id` stays, the timestamp and signature are new. */
export function signedHeaders(secret: string, webhookId: string, body: string, at: Date): Record<string, string> {
  const signature = new Webhook(secret).sign(webhookId, at, body);
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
