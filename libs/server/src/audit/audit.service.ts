import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { TAuditEntry, TAuditQuery } from '@modelyard/contracts';
import { AuditRepository } from './audit.repository.js';
import { authorize, type Principal } from '../auth/principal.js';
import { decodeCursor, pageFrom } from '../platform/cursor.js';
import { LOGGER } from '../platform/tokens.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined };

export interface AuditEvent {
  action: string;
  objectType: string;
  objectId?: string | null;
  /** A short before/after summary. Never secrets: callers pass ids and names only. */
  summary?: Json;
}

@Injectable()
export class AuditService {
  constructor(private readonly repo: AuditRepository, @Inject(LOGGER) private readonly log: Logger) {}

  async record(actor: Principal | null, event: AuditEvent): Promise<void> {
    await this.repo.insert({
      actorKind: actor?.kind ?? 'anonymous',
      actorId: actor?.kind === 'system' ? null : (actor?.id ?? null),
      actorName: actor?.name ?? null,
      apiKeyId: actor?.apiKeyId ?? null,
      ip: actor?.ip ?? null,
      action: event.action,
      objectType: event.objectType,
      objectId: event.objectId ?? null,
      summary: event.summary ?? {},
    });
    this.log.info({ audit: { action: event.action, objectType: event.objectType, objectId: event.objectId, actor: actor?.id } }, 'audit');
  }

  async list(actor: Principal, q: TAuditQuery): Promise<{ items: TAuditEntry[]; nextCursor: string | null }> {
    authorize(actor, 'audit.read');
    const rows = await this.repo.find({
      actorId: q.actorId, action: q.action, objectType: q.objectType, objectId: q.objectId,
      from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined,
      limit: q.limit, before: decodeCursor(q.cursor),
    });
    const page = pageFrom(rows, q.limit, (r) => ({ at: r.at, id: r.id }));
    return {
      nextCursor: page.nextCursor,
      items: page.items.map((r) => ({
        id: r.id, at: r.at.toISOString(), actor: { kind: r.actorKind, id: r.actorId, name: r.actorName },
        apiKeyId: r.apiKeyId, ip: r.ip, action: r.action, objectType: r.objectType, objectId: r.objectId,
        summary: r.summary,
      })),
    };
  }
}
