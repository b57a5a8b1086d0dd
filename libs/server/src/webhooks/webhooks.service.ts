import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { TCreateWebhookRequest, TWebhook, TWebhookDelivery } from '@modelyard/contracts';
import { WebhooksRepository } from './webhooks.repository.js';
import { SECRET_PREFIX } from './standard-webhooks.js';
import { SecretBox } from './secret-box.js';
import { authorize, type Principal } from '../auth/principal.js';
import { projectIdOf } from '../tenancy/model-key.js';
import { DomainEvents } from '../events/domain-events.js';
import { AppError, notFound } from '../platform/errors.js';
import { SECRET_KEY } from '../platform/tokens.js';
import { OutboundHttp, urlShapeProblem } from '../outbound/outbound-http.js';

type WebhookRow = { id: string; url: string; description: string; events: string[]; active: boolean; createdAt: Date };
export const toWebhookResponse = (w: WebhookRow): TWebhook => ({
  id: w.id,
  url: w.url,
  description: w.description,
  events: w.events as TWebhook['events'],
  active: w.active,
  createdAt: w.createdAt.toISOString(),
});

/** Webhooks as admins manage them; delivering events is WebhookDeliveryService's. */
@Injectable()
export class WebhooksService {
  private readonly box: SecretBox;

  constructor(
    private readonly repo: WebhooksRepository,
    private readonly events: DomainEvents,
    @Inject(SECRET_KEY) secretKey: string,
    private readonly outbound: OutboundHttp,
  ) {
    this.box = new SecretBox(secretKey);
  }

  async list(actor: Principal): Promise<TWebhook[]> {
    authorize(actor, 'webhooks.read');
    return (await this.repo.list(projectIdOf(actor))).map(toWebhookResponse);
  }

  async create(actor: Principal, req: TCreateWebhookRequest): Promise<{ webhook: TWebhook; secret: string }> {
    authorize(actor, 'webhooks.write');
    const problem = urlShapeProblem(req.url) ?? this.outbound.literalRefusal(req.url);
    if (problem) throw new AppError('VALIDATION_FAILED', `The webhook URL ${problem}`);
    // Standard Webhooks: `whsec_` + the base64 (not base64url: the spec's verifiers decode plain base64) of 24
    // random bytes, which is 32 characters without padding.
    const secret = `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
    const w = await this.events.change(
      actor,
      () =>
        this.repo.create({
          projectId: projectIdOf(actor),
          url: req.url,
          description: req.description,
          events: [...new Set(req.events)],
          secretCiphertext: this.box.seal(secret),
          createdByName: actor.name,
        }),
      (row) => ({ type: 'webhook.created', objectId: row.id, data: { url: row.url, events: row.events } }),
    );
    return { webhook: toWebhookResponse(w), secret };
  }

  async delete(actor: Principal, id: string): Promise<void> {
    authorize(actor, 'webhooks.write');
    const w = await this.repo.findById(id, projectIdOf(actor));
    if (!w) throw notFound('Webhook');
    await this.events.change(
      actor,
      () => this.repo.delete(id),
      () => ({ type: 'webhook.deleted', objectId: id, data: { url: w.url } }),
    );
  }

  async deliveries(actor: Principal, id: string, limit = 100): Promise<TWebhookDelivery[]> {
    authorize(actor, 'webhooks.read');
    if (!(await this.repo.findById(id, projectIdOf(actor)))) throw notFound('Webhook');
    return (await this.repo.deliveries(id, Math.min(Math.max(limit, 1), 500))).map((d) => ({
      id: d.id,
      event: d.event as TWebhookDelivery['event'],
      eventId: d.eventId,
      status: d.status,
      attempts: d.attempts,
      responseStatus: d.responseStatus,
      lastError: d.lastError,
      createdAt: d.createdAt.toISOString(),
      lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
      deliveredAt: d.deliveredAt?.toISOString() ?? null,
    }));
  }
}
