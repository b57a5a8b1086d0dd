import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import { asJson } from '../db/json.js';

@Injectable()
export class DeploymentsRepository {
  constructor(private readonly db: PrismaService) {}

  /** Every model's current revision (the worker's auto-rollback check; deployments are few). */
  async allCurrent() {
    const ds = await this.db.client.deployment.findMany({ include: { model: { select: { name: true } } } });
    const out = [];
    for (const d of ds) {
      const r = await this.db.client.deploymentRevision.findUnique({
        where: { deploymentId_number: { deploymentId: d.id, number: d.currentRevision } },
      });
      if (r) out.push({ model: d.model.name, modelId: d.modelId, revision: r });
    }
    return out;
  }

  /** The latest request to put this version into Production, if any (its status tells what a human decided). */
  lastProductionApproval(modelId: string, version: number) {
    return this.db.client.approvalRequest.findFirst({
      where: { modelId, toStage: 'Production', version: { number: version } },
      orderBy: { createdAt: 'desc' },
      select: { status: true },
    });
  }

  async revision(modelId: string, number: number) {
    const d = await this.db.client.deployment.findUnique({ where: { modelId } });
    return d
      ? this.db.client.deploymentRevision.findUnique({ where: { deploymentId_number: { deploymentId: d.id, number } } })
      : null;
  }

  async revisions(modelId: string, limit: number) {
    const d = await this.db.client.deployment.findUnique({ where: { modelId } });
    return d
      ? this.db.client.deploymentRevision.findMany({
          where: { deploymentId: d.id },
          orderBy: { number: 'desc' },
          take: limit,
        })
      : [];
  }

  /** Appends a revision and makes it current, in one transaction (concurrent writers get distinct numbers). */
  append(
    modelId: string,
    config: object,
    author: { kind: string; id: string | null; name: string | null },
    comment: string,
  ) {
    return this.db.transaction(async (tx) => {
      const d = await tx.deployment.upsert({ where: { modelId }, create: { modelId, currentRevision: 0 }, update: {} });
      const locked = await tx.deployment.update({ where: { id: d.id }, data: { currentRevision: { increment: 1 } } });
      return tx.deploymentRevision.create({
        data: {
          deploymentId: d.id,
          number: locked.currentRevision,
          config: asJson(config),
          authorKind: author.kind,
          authorId: author.id,
          authorName: author.name,
          comment,
        },
      });
    });
  }
}
