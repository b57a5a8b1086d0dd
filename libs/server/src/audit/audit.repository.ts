import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma } from '../db/generated/client.js';

export interface AuditFilter {
  /** Rows of these projects only (null: platform rows); undefined: every row. */
  projects?: (string | null)[];
  actorId?: string;
  action?: string;
  objectType?: string;
  objectId?: string;
  from?: Date;
  to?: Date;
  limit: number;
  before?: { at: Date; id: string };
}

@Injectable()
export class AuditRepository {
  constructor(private readonly db: PrismaService) {}

  /** A second delivery of the same event (same eventId) writes nothing. */
  insertOnce(row: Omit<Prisma.AuditLogCreateManyInput, 'summary'> & { summary: unknown }) {
    return this.db.client.auditLog.createMany({
      data: [{ ...row, summary: row.summary as Prisma.InputJsonValue }],
      skipDuplicates: true,
    });
  }

  find(f: AuditFilter) {
    return this.db.client.auditLog.findMany({
      where: {
        ...(f.projects ? { AND: [{ OR: f.projects.map((project) => ({ project })) }] } : {}),
        actorId: f.actorId,
        action: f.action,
        objectType: f.objectType,
        objectId: f.objectId,
        at: f.from || f.to ? { gte: f.from, lte: f.to } : undefined,
        ...(f.before ? { OR: [{ at: { lt: f.before.at } }, { at: f.before.at, id: { lt: f.before.id } }] } : {}),
      },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: f.limit + 1,
    });
  }
}
