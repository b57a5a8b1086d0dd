import { z } from 'zod';

/** Events delivered to webhooks. Silent deployments and their alerts never produce any (see deployments). */
export const WEBHOOK_EVENTS = [
  'model.created',
  'version.registered',
  'version.failed',
  'stage.changed',
  'alias.changed',
  'approval.requested',
  'approval.decided',
  'deployment.changed',
  'deployment.rolled_back',
  'deployment.promoted',
  'alert.firing',
  'alert.resolved',
  'stream.changed',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const ZWebhookEvent = z.enum(WEBHOOK_EVENTS);

export const ZCreateWebhookRequest = z.object({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  events: z.array(ZWebhookEvent).min(1).max(WEBHOOK_EVENTS.length),
  description: z.string().max(500).default(''),
});
export type TCreateWebhookRequest = z.infer<typeof ZCreateWebhookRequest>;

export const ZWebhook = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  events: z.array(ZWebhookEvent),
  active: z.boolean(),
  createdAt: z.string(),
});
export type TWebhook = z.infer<typeof ZWebhook>;
/** The signing secret appears in this response only. */
export const ZCreatedWebhook = z.object({ webhook: ZWebhook, secret: z.string() });

export const ZWebhookDelivery = z.object({
  id: z.string(),
  event: ZWebhookEvent,
  eventId: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number().int(),
  responseStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  lastAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
});
export type TWebhookDelivery = z.infer<typeof ZWebhookDelivery>;

/**
 * What a receiver gets: POST JSON `{ id, event, at, data }` with headers `X-Modelyard-Event`,
 * `X-Modelyard-Delivery`, `X-Modelyard-Timestamp` and `X-Modelyard-Signature: sha256=<hex HMAC-SHA256 of
 * "<timestamp>.<raw body>" keyed by the webhook secret>`.
 */
export const ZWebhookPayload = z.object({
  id: z.string(),
  event: ZWebhookEvent,
  at: z.string(),
  /** The project it happened in (a webhook receives only its own project's events). */
  project: z.string().nullable(),
  /** `model` is the model's name in that project. */
  data: z.record(z.string(), z.unknown()),
});
export type TWebhookPayload = z.infer<typeof ZWebhookPayload>;
