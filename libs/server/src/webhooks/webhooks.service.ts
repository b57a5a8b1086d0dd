import { randomBytes, randomUUID, createHmac } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { TCreateWebhookRequest, TWebhook, TWebhookDelivery, TWebhookPayload, WebhookEvent } from '@modelyard/contracts';
import { WebhooksRepository } from './webhooks.repository.js';
import { SecretBox } from './secret-box.js';
import { AuditService } from '../audit/audit.service.js';
import { authorize, type Principal } from '../auth/principal.js';
import { notFound } from '../platform/errors.js';
import { AppError } from '../platform/errors.js';
import { LOGGER, SECRET_KEY } from '../platform/tokens.js';
import { OutboundHttp, urlShapeProblem } from '../outbound/outbound-http.js';
import { JobProducer } from '../queue/job-producer.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import type { JobPayloadParsed } from '@modelyard/contracts';

type WebhookRow = { id: string; url: string; description: string; events: string[]; active: boolean; createdAt: Date };
export const toWebhookResponse = (w: WebhookRow): TWebhook => ({
  id: w.id, url: w.url, description: w.description, events: w.events as TWebhook['events'], active: w.active,
  createdAt: w.createdAt.toISOString(),
});

/** `sha256=<hex>` over "<timestamp>.<body>": what receivers recompute with their copy of the secret. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface EmitOptions {
  /** Silent (shadow) deployments record but never deliver: their side effects are switched off. */
  silent?: boolean;
}

const DELIVERY_TIMEOUT_MS = 10_000;

@Injectable()
export class WebhooksService implements JobHandler<'webhook.deliver'> {
  readonly job = 'webhook.deliver' as const;
  private readonly box: SecretBox;

  constructor(
    private readonly repo: WebhooksRepository,
    private readonly audit: AuditService,
    private readonly jobs: JobProducer,
    @Inject(SECRET_KEY) secretKey: string,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly outbound: OutboundHttp,
  ) {
    this.box = new SecretBox(secretKey);
  }

  async list(actor: Principal): Promise<TWebhook[]> {
    authorize(actor, 'webhooks.read');
    return (await this.repo.list()).map(toWebhookResponse);
  }

  async create(actor: Principal, req: TCreateWebhookRequest): Promise<{ webhook: TWebhook; secret: string }> {
    authorize(actor, 'webhooks.write');
    const problem = urlShapeProblem(req.url) ?? this.outbound.literalRefusal(req.url);
    if (problem) throw new AppError('VALIDATION_FAILED', `The webhook URL ${problem}`);
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const w = await this.repo.create({
      url: req.url, description: req.description, events: [...new Set(req.events)], secretCiphertext: this.box.seal(secret),
      createdByName: actor.name,
    });
    await this.audit.record(actor, { action: 'webhook.created', objectType: 'webhook', objectId: w.id, summary: { url: w.url, events: w.events } });
    return { webhook: toWebhookResponse(w), secret };
  }

  async delete(actor: Principal, id: string): Promise<void> {
    authorize(actor, 'webhooks.write');
    const w = await this.repo.findById(id);
    if (!w) throw notFound('Webhook');
    await this.repo.delete(id);
    await this.audit.record(actor, { action: 'webhook.deleted', objectType: 'webhook', objectId: id, summary: { url: w.url } });
  }

  async deliveries(actor: Principal, id: string, limit = 100): Promise<TWebhookDelivery[]> {
    authorize(actor, 'webhooks.read');
    if (!(await this.repo.findById(id))) throw notFound('Webhook');
    return (await this.repo.deliveries(id, Math.min(Math.max(limit, 1), 500))).map((d) => ({
      id: d.id, event: d.event as TWebhookDelivery['event'], eventId: d.eventId, status: d.status, attempts: d.attempts,
      responseStatus: d.responseStatus, lastError: d.lastError, createdAt: d.createdAt.toISOString(),
      lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null, deliveredAt: d.deliveredAt?.toISOString() ?? null,
    }));
  }

  /**
   * Fan an event out to every subscribed webhook: one delivery row each, then one queued job each. Never
   * throws into the caller's flow: a webhook outage must not fail a registration.
   */
  async emit(event: WebhookEvent, data: Record<string, unknown>, opts: EmitOptions = {}): Promise<void> {
    if (opts.silent) return;
    try {
      const hooks = await this.repo.subscribedTo(event);
      if (!hooks.length) return;
      const payload: TWebhookPayload = { id: randomUUID(), event, at: new Date().toISOString(), data };
      for (const h of hooks) {
        const d = await this.repo.createDelivery(h.id, event, payload.id, payload as never);
        await this.jobs.enqueue('webhook.deliver', { deliveryId: d.id }, { jobId: `webhook-${d.id}`, attempts: 8, backoff: { type: 'exponential', delay: 2000 } });
      }
    } catch (err) {
      this.log.error({ err, event }, 'could not queue webhook deliveries');
    }
  }

  /** The worker's job: one POST attempt, recorded; a non-2xx answer throws so BullMQ retries with backoff. */
  async handle({ deliveryId }: JobPayloadParsed<'webhook.deliver'>, ctx: JobContext) {
    const d = await this.repo.findDelivery(deliveryId);
    if (!d || !d.webhook.active || d.status === 'succeeded') return { skipped: true };
    const body = JSON.stringify(d.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const last = ctx.attempt >= ctx.maxAttempts;
    const r = await this.outbound.post(d.webhook.url, {
      headers: {
        'content-type': 'application/json', 'user-agent': 'Modelyard-Webhooks/1', 'x-modelyard-event': d.event,
        'x-modelyard-delivery': d.id, 'x-modelyard-timestamp': timestamp,
        'x-modelyard-signature': signWebhook(this.box.open(d.webhook.secretCiphertext), timestamp, body),
      },
      body, timeoutMs: DELIVERY_TIMEOUT_MS,
    });
    const status = r.outcome === 'answered' ? r.status : null;
    if (status !== null && status >= 200 && status < 300) {
      await this.repo.recordAttempt(d.id, { status: 'succeeded', responseStatus: status, lastError: null, delivered: true });
      return { delivered: true, status };
    }
    if (r.outcome === 'refused') {
      // Policy, not an outage: retrying cannot help, so the delivery ends here.
      await this.repo.recordAttempt(d.id, { status: 'failed', responseStatus: null, lastError: `refused: ${r.reason}`, delivered: false });
      return { delivered: false, refused: true };
    }
    const error = r.outcome === 'answered' ? `receiver answered HTTP ${r.status}` : r.reason;
    await this.repo.recordAttempt(d.id, { status: last ? 'failed' : 'pending', responseStatus: status, lastError: error, delivered: false });
    throw new Error(`webhook delivery ${d.id} failed: ${error}`);
  }
}
