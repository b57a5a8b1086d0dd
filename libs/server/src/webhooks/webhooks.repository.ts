import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { TWebhookPayload } from '@modelyard/contracts';
import type { Prisma } from '../db/generated/client.js';

@Injectable()
export class WebhooksRepository {
  constructor(private readonly db: PrismaService) {}

  list(projectId: string) {
    return this.db.client.webhook.findMany({ where: { projectId }, orderBy: { createdAt: 'desc' } });
  }
  /** A project's webhook by id (another project's is not found). */
  findById(id: string, projectId: string) {
    return this.db.client.webhook.findFirst({ where: { id, projectId } });
  }
  create(data: {
    projectId: string;
    url: string;
    description: string;
    events: string[];
    secretCiphertext: string;
    createdByName: string | null;
  }) {
    return this.db.client.webhook.create({ data });
  }
  delete(id: string) {
    return this.db.client.webhook.deleteMany({ where: { id } });
  }
  subscribedTo(event: string, project: string) {
    return this.db.client.webhook.findMany({
      where: { active: true, events: { has: event }, project: { name: project } },
      select: { id: true },
    });
  }
  /** Deliveries not yet made nor given up on (the reconciler's view of Postgres). */
  pendingDeliveryIds() {
    return this.db.client.webhookDelivery.findMany({ where: { status: 'pending' }, select: { id: true } });
  }

  /** Idempotent per (webhook, event id): delivering the same event twice creates one delivery. */
  createDelivery(webhookId: string, event: string, eventId: string, payload: TWebhookPayload) {
    return this.db.client.webhookDelivery.upsert({
      where: { webhookId_eventId: { webhookId, eventId } },
      create: { webhookId, event, eventId, payload: payload as Prisma.InputJsonValue },
      update: {},
    });
  }
  findDelivery(id: string) {
    return this.db.client.webhookDelivery.findUnique({ where: { id }, include: { webhook: true } });
  }
  recordAttempt(
    id: string,
    data: {
      status: 'pending' | 'succeeded' | 'failed';
      responseStatus: number | null;
      lastError: string | null;
      delivered: boolean;
    },
  ) {
    const now = new Date();
    return this.db.client.webhookDelivery.update({
      where: { id },
      data: {
        status: data.status,
        responseStatus: data.responseStatus,
        lastError: data.lastError,
        attempts: { increment: 1 },
        lastAttemptAt: now,
        deliveredAt: data.delivered ? now : undefined,
      },
    });
  }
  deliveries(webhookId: string, limit: number) {
    return this.db.client.webhookDelivery.findMany({
      where: { webhookId },
      orderBy: { createdAt: 'desc' },
      take: limit,
    });
  }
}
