import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { TAuditEntry, TAuditQuery } from '@modelyard/contracts';
import { AuditRepository } from './audit.repository.js';
import { authorize, type Principal } from '../auth/principal.js';
import { decodeCursor, pageFrom } from '../platform/cursor.js';
import { LOGGER } from '../platform/tokens.js';
import type { DeliveredEvent, EventConsumer } from '../events/event-consumer.js';

/**
 * The audit log: one row per domain event, written by the event dispatcher (never by services directly), at the
 * time of the change and once per event however often it is delivered.
 */
@Injectable()
export class AuditService implements EventConsumer {
  constructor(
    private readonly repo: AuditRepository,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async consume(e: DeliveredEvent): Promise<void> {
    const { actor } = e;
    await this.repo.insertOnce({
      eventId: e.id,
      at: e.createdAt,
      actorKind: actor.kind,
      actorId: actor.id,
      actorName: actor.name,
      apiKeyId: actor.apiKeyId,
      ip: actor.ip,
      action: e.type,
      objectType: e.objectType,
      objectId: e.objectId,
      project: e.project,
      summary: e.data,
    });
    this.log.info(
      { audit: { action: e.type, objectType: e.objectType, objectId: e.objectId, actor: actor.id } },
      'audit',
    );
  }

  async list(actor: Principal, q: TAuditQuery): Promise<{ items: TAuditEntry[]; nextCursor: string | null }> {
    authorize(actor, 'audit.read');
    // A project's admins read its rows; a platform admin also the platform's own (users, groups, projects).
    const projects = actor.project ? [actor.project.name, ...(actor.platformAdmin ? [null] : [])] : undefined;
    const rows = await this.repo.find({
      projects,
      actorId: q.actorId,
      action: q.action,
      objectType: q.objectType,
      objectId: q.objectId,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      limit: q.limit,
      before: decodeCursor(q.cursor),
    });
    const page = pageFrom(rows, q.limit, (r) => ({ at: r.at, id: r.id }));
    return {
      nextCursor: page.nextCursor,
      items: page.items.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        actor: { kind: r.actorKind, id: r.actorId, name: r.actorName },
        apiKeyId: r.apiKeyId,
        ip: r.ip,
        action: r.action,
        objectType: r.objectType,
        objectId: r.objectId,
        project: r.project,
        summary: r.summary,
      })),
    };
  }
}
