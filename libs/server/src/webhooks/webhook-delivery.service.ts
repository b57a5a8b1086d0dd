import { Inject, Injectable } from '@nestjs/common';
import { eventDef, type JobPayloadParsed, type TWebhookPayload } from '@modelyard/contracts';
import { WebhooksRepository } from './webhooks.repository.js';
import { SecretBox } from './secret-box.js';
import { SECRET_KEY } from '../platform/tokens.js';
import { OutboundHttp } from '../outbound/outbound-http.js';
import { JobProducer } from '../queue/job-producer.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import type { DeliveredEvent, EventConsumer } from '../events/event-consumer.js';
import { modelNameOf } from '../tenancy/model-key.js';
import { legacySignature, standardWebhookHeaders } from './standard-webhooks.js';

const DELIVERY_TIMEOUT_MS = 10_000;

/** Events to receivers: a consumer of every event that fans it out into delivery rows, and the worker's signed POST of each. */
@Injectable()
export class WebhookDeliveryService implements JobHandler<'webhook.deliver'>, EventConsumer {
  readonly job = 'webhook.deliver' as const;
  private readonly box: SecretBox;

  constructor(
    private readonly repo: WebhooksRepository,
    private readonly jobs: JobProducer,
    @Inject(SECRET_KEY) secretKey: string,
    private readonly outbound: OutboundHttp,
  ) {
    this.box = new SecretBox(secretKey);
  }

  /**
   * One delivery row per subscribed webhook, then one queued job each (the event dispatcher calls this). Both
   * are keyed by the event's id, so delivering the same event again creates and queues nothing new.
   */
  async consume(event: DeliveredEvent): Promise<void> {
    const webhookEvent = eventDef(event.type).webhook;
    // Silent (shadow) versions' alerts are recorded and never delivered: their side effects are switched off.
    if (!webhookEvent || event.data.silent === true) return;
    // A webhook belongs to a project and hears only that project's events; platform events reach none.
    if (!event.project) return;
    const hooks = await this.repo.subscribedTo(webhookEvent, event.project);
    const model = event.data.model;
    const payload: TWebhookPayload = {
      id: event.id,
      event: webhookEvent,
      at: event.createdAt.toISOString(),
      project: event.project,
      data: {
        ...event.data,
        ...(typeof model === 'string' ? { model: modelNameOf(model) } : {}),
        by: event.actor.name,
      },
    };
    for (const h of hooks) {
      const d = await this.repo.createDelivery(h.id, webhookEvent, event.id, payload);
      await this.jobs.enqueue(
        'webhook.deliver',
        { deliveryId: d.id },
        {
          jobId: `webhook-${d.id}`,
          attempts: 8,
          backoff: { type: 'exponential', delay: 2000 },
        },
      );
    }
  }

  /** The worker's job: one POST attempt, recorded; a non-2xx answer throws so BullMQ retries with backoff. */
  async handle({ deliveryId }: JobPayloadParsed<'webhook.deliver'>, ctx: JobContext) {
    const d = await this.repo.findDelivery(deliveryId);
    if (!d || !d.webhook.active || d.status === 'succeeded') return { skipped: true };
    const body = JSON.stringify(d.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const last = ctx.attempt >= ctx.maxAttempts;
    const secret = this.box.open(d.webhook.secretCiphertext);
    const r = await this.outbound.post(d.webhook.url, {
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Modelyard-Webhooks/1',
        // Standard Webhooks: the message id is the delivery's (one per webhook and event, the same on retries).
        ...standardWebhookHeaders(secret, d.id, timestamp, body),
        'x-modelyard-event': d.event,
        'x-modelyard-delivery': d.id,
        // Deprecated, sent for one more release: receivers should verify `webhook-signature` instead.
        'x-modelyard-timestamp': timestamp,
        'x-modelyard-signature': legacySignature(secret, timestamp, body),
      },
      body,
      timeoutMs: DELIVERY_TIMEOUT_MS,
    });
    const status = r.outcome === 'answered' ? r.status : null;
    if (status !== null && status >= 200 && status < 300) {
      await this.repo.recordAttempt(d.id, {
        status: 'succeeded',
        responseStatus: status,
        lastError: null,
        delivered: true,
      });
      return { delivered: true, status };
    }
    if (r.outcome === 'refused') {
      // Policy, not an outage: retrying cannot help, so the delivery ends here.
      await this.repo.recordAttempt(d.id, {
        status: 'failed',
        responseStatus: null,
        lastError: `refused: ${r.reason}`,
        delivered: false,
      });
      return { delivered: false, refused: true };
    }
    const error = r.outcome === 'answered' ? `receiver answered HTTP ${r.status}` : r.reason;
    await this.repo.recordAttempt(d.id, {
      status: last ? 'failed' : 'pending',
      responseStatus: status,
      lastError: error,
      delivered: false,
    });
    throw new Error(`webhook delivery ${d.id} failed: ${error}`);
  }
}
