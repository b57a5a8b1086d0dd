import { createHmac } from 'node:crypto';

/** The prefix Standard Webhooks secrets carry; what follows is the key, base64-encoded. */
export const SECRET_PREFIX = 'whsec_';

/**
 * The HMAC key a secret stands for. A `whsec_<base64>` secret is its decoded bytes, as the Standard Webhooks spec
 * says (Node's base64 decoder also reads the base64url secrets webhooks were given before). Any other string (a
 * prediction callback's secret is the caller's choice) is its own UTF-8 bytes: receivers verify those with their
 * library's raw-key option.
 */
export function signingKey(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX)
    ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/**
 * The three Standard Webhooks headers (https://www.standardwebhooks.com): `webhook-id` (the same on every retry
 * of one message, so receivers can drop repeats), `webhook-timestamp` (Unix seconds) and `webhook-signature`
 * (`v1,` + base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"). A receiver's `new Webhook(secret).verify(body,
 * headers)` accepts them.
 */
export function standardWebhookHeaders(secret: string, id: string, timestamp: string, body: string) {
  const mac = createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` };
}

/**
 * The signature Modelyard sent before it spoke Standard Webhooks: `sha256=<hex>` HMAC over "<timestamp>.<body>"
 * keyed with the secret string itself. Still sent as `X-Modelyard-Signature` for one release so receivers written
 * against it keep working; deprecated (README, docs/ARCHITECTURE.md).
 */
export function legacySignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
