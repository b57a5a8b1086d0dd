import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma, Stage } from '../db/generated/client.js';

const modelSummary = {
  versions: { select: { number: true, stage: true }, orderBy: { number: 'desc' } },
  aliases: { select: { name: true, version: { select: { number: true } } } },
} as const;
const versionFull = { model: { select: { name: true } }, aliases: { select: { name: true } } } as const;

export type ActorColumns = { kind: string; id: string | null; name: string | null };
export type HistoryInput = {
  versionNumber: number | null;
  kind: string;
  from?: string | null;
  to?: string | null;
  comment?: string;
};

function historyRow(modelId: string, actor: ActorColumns, h: HistoryInput) {
  return {
    modelId,
    versionNumber: h.versionNumber,
    kind: h.kind,
    from: h.from ?? null,
    to: h.to ?? null,
    actorKind: actor.kind,
    actorId: actor.id,
    actorName: actor.name,
    comment: h.comment ?? '',
  };
}

@Injectable()
export class RegistryRepository {
  constructor(private readonly db: PrismaService) {}

  /** `names`: only these (an API key's allow-list), filtered here so a page is never cut short by it. */
  listModels(q: {
    projectId?: string;
    search?: string;
    limit: number;
    before?: { at: Date; id: string };
    names?: string[];
  }) {
    return this.db.client.registeredModel.findMany({
      where: {
        projectId: q.projectId,
        ...(q.names ? { name: { in: q.names } } : {}),
        ...(q.search
          ? {
              OR: [
                { name: { contains: q.search, mode: 'insensitive' } },
                { description: { contains: q.search, mode: 'insensitive' } },
              ],
            }
          : {}),
        ...(q.before
          ? { OR: [{ updatedAt: { lt: q.before.at } }, { updatedAt: q.before.at, id: { lt: q.before.id } }] }
          : {}),
      },
      include: modelSummary,
      orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
      take: q.limit + 1,
    });
  }
  /** For the serving resync: per model, what its serving state is built from (one query for all of them). */
  async servingFacts(names: string[]) {
    const rows = await this.db.client.registeredModel.findMany({
      where: { name: { in: names } },
      select: {
        name: true,
        servingConfig: true,
        versions: { where: { stage: 'Production' }, select: { number: true } },
        aliases: { select: { name: true, version: { select: { number: true } } } },
        deployment: { select: { currentRevision: true } },
      },
    });
    return new Map(
      rows.map((r) => [
        r.name,
        {
          productionStage: r.versions.map((v) => v.number),
          aliases: r.aliases.map((a) => ({ name: a.name, version: a.version.number })),
          deploymentRevision: r.deployment?.currentRevision ?? null,
          servingConfig: r.servingConfig,
        },
      ]),
    );
  }

  /**
   * The model's current deployment revision, or null without one. Deployments, serving and version deletion all
   * read it here: deployments/ builds on the registry and serving, so they cannot read it there.
   */
  async currentDeployment(modelId: string) {
    const d = await this.db.client.deployment.findUnique({
      where: { modelId },
      select: { id: true, currentRevision: true },
    });
    if (!d) return null;
    return this.db.client.deploymentRevision.findUnique({
      where: { deploymentId_number: { deploymentId: d.id, number: d.currentRevision } },
    });
  }

  findModel(name: string) {
    return this.db.client.registeredModel.findUnique({ where: { name }, include: modelSummary });
  }
  createModel(data: Prisma.RegisteredModelCreateInput) {
    return this.db.client.registeredModel.create({ data, include: modelSummary });
  }
  updateModel(name: string, data: Prisma.RegisteredModelUpdateInput) {
    return this.db.client.registeredModel.update({ where: { name }, data, include: modelSummary });
  }
  deleteModel(id: string) {
    return this.db.client.registeredModel.delete({ where: { id } });
  }
  /**
   * Locks a model's row until the transaction ends. A job submitted for it meanwhile waits on its foreign key, so
   * the jobs read under this lock are all the model has.
   */
  async lockModel(id: string) {
    await this.db.client.$queryRaw`SELECT 1 FROM "RegisteredModel" WHERE "id" = ${id}::uuid FOR UPDATE`;
  }

  /** Number and row in one transaction: concurrent registrations of one model get distinct numbers. */
  createVersion(
    modelId: string,
    data: Omit<Prisma.ModelVersionUncheckedCreateInput, 'modelId' | 'number'>,
    actor: ActorColumns,
  ) {
    return this.db.transaction(async (tx) => {
      const m = await tx.registeredModel.update({
        where: { id: modelId },
        data: { nextVersion: { increment: 1 } },
        select: { nextVersion: true },
      });
      const number = m.nextVersion - 1;
      const v = await tx.modelVersion.create({ data: { ...data, modelId, number }, include: versionFull });
      await tx.modelHistory.create({
        data: historyRow(modelId, actor, { versionNumber: number, kind: 'registered', to: 'pending' }),
      });
      return v;
    });
  }
  findVersion(modelName: string, number: number) {
    return this.db.client.modelVersion.findFirst({
      where: { number, model: { name: modelName } },
      include: versionFull,
    });
  }
  /** What every api process serves at boot: each model's Production version(s). */
  productionVersions() {
    return this.db.client.modelVersion.findMany({
      where: { stage: 'Production', status: 'ready' },
      select: { number: true, model: { select: { name: true } } },
    });
  }
  /** Versions still waiting for validation (the reconciler's view of Postgres). */
  pendingVersionIds() {
    return this.db.client.modelVersion.findMany({ where: { status: 'pending' }, select: { id: true } });
  }

  findVersionById(id: string) {
    return this.db.client.modelVersion.findUnique({ where: { id }, include: versionFull });
  }
  listVersions(modelId: string) {
    return this.db.client.modelVersion.findMany({
      where: { modelId },
      include: versionFull,
      orderBy: { number: 'desc' },
    });
  }
  updateVersion(id: string, data: Prisma.ModelVersionUpdateInput) {
    return this.db.client.modelVersion.update({ where: { id }, data, include: versionFull });
  }
  /**
   * Settles a pending version (ready or failed) only if it is still pending: validation and the stuck-version
   * sweeper may race, and whichever comes second must not overwrite the first. True when this call settled it.
   */
  async settlePending(id: string, data: Prisma.ModelVersionUpdateManyMutationInput): Promise<boolean> {
    const { count } = await this.db.client.modelVersion.updateMany({ where: { id, status: 'pending' }, data });
    return count === 1;
  }
  /** Versions pending since before `before` (oldest first): their validation has died or never ran. */
  stuckPendingVersions(before: Date, take = 100) {
    return this.db.client.modelVersion.findMany({
      where: { status: 'pending', createdAt: { lt: before } },
      include: versionFull,
      orderBy: { createdAt: 'asc' },
      take,
    });
  }
  deleteVersion(id: string) {
    return this.db.client.modelVersion.delete({ where: { id } });
  }
  versionsInStage(modelId: string, stage: Stage) {
    return this.db.client.modelVersion.findMany({ where: { modelId, stage }, select: { id: true, number: true } });
  }

  /**
   * Moves one version to `stage` and, when asked, every other version in Production to Archived; writes one
   * history row per move. All or nothing, so the model never has two Production versions by accident.
   */
  transition(
    modelId: string,
    versionId: string,
    stage: Stage,
    archiveOthers: boolean,
    actor: ActorColumns,
    comment: string,
  ) {
    return this.db.transaction(async (tx) => {
      const v = await tx.modelVersion.findUniqueOrThrow({ where: { id: versionId } });
      const archived: { id: string; number: number }[] = [];
      if (stage === 'Production' && archiveOthers) {
        const others = await tx.modelVersion.findMany({
          where: { modelId, stage: 'Production', id: { not: versionId } },
        });
        for (const o of others) {
          await tx.modelVersion.update({ where: { id: o.id }, data: { stage: 'Archived' } });
          await tx.modelHistory.create({
            data: historyRow(modelId, actor, {
              versionNumber: o.number,
              kind: 'stage',
              from: 'Production',
              to: 'Archived',
              comment: `archived by the promotion of version ${v.number}`,
            }),
          });
          archived.push({ id: o.id, number: o.number });
        }
      }
      const updated = await tx.modelVersion.update({ where: { id: versionId }, data: { stage }, include: versionFull });
      await tx.modelHistory.create({
        data: historyRow(modelId, actor, { versionNumber: v.number, kind: 'stage', from: v.stage, to: stage, comment }),
      });
      await tx.registeredModel.update({ where: { id: modelId }, data: { updatedAt: new Date() } });
      return { version: updated, from: v.stage, archived };
    });
  }

  findAlias(modelId: string, name: string) {
    return this.db.client.modelAlias.findUnique({
      where: { modelId_name: { modelId, name } },
      include: { version: { select: { number: true } } },
    });
  }
  setAlias(modelId: string, name: string, versionId: string, actor: ActorColumns, h: HistoryInput) {
    return this.db.transaction(async (tx) => {
      await tx.modelAlias.upsert({
        where: { modelId_name: { modelId, name } },
        create: { modelId, name, versionId },
        update: { versionId },
      });
      await tx.modelHistory.create({ data: historyRow(modelId, actor, h) });
    });
  }
  deleteAlias(modelId: string, name: string, actor: ActorColumns, h: HistoryInput) {
    return this.db.transaction(async (tx) => {
      await tx.modelAlias.delete({ where: { modelId_name: { modelId, name } } });
      await tx.modelHistory.create({ data: historyRow(modelId, actor, h) });
    });
  }

  addHistory(modelId: string, actor: ActorColumns, h: HistoryInput) {
    return this.db.client.modelHistory.create({ data: historyRow(modelId, actor, h) });
  }
  history(modelId: string, limit: number) {
    return this.db.client.modelHistory.findMany({
      where: { modelId },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  createApproval(data: Prisma.ApprovalRequestUncheckedCreateInput) {
    return this.db.client.approvalRequest.create({
      data,
      include: { model: { select: { name: true } }, version: { select: { number: true } } },
    });
  }
  findApproval(id: string) {
    return this.db.client.approvalRequest.findUnique({
      where: { id },
      include: { model: { select: { name: true } }, version: { select: { number: true, id: true } } },
    });
  }
  /** `projectId` undefined: every project's (the system's view). */
  listApprovals(
    projectId: string | undefined,
    status?: 'pending' | 'approved' | 'rejected' | 'cancelled',
    modelName?: string,
  ) {
    return this.db.client.approvalRequest.findMany({
      where: { status, model: { projectId, ...(modelName ? { name: modelName } : {}) } },
      include: { model: { select: { name: true } }, version: { select: { number: true } } },
      orderBy: { createdAt: 'desc' },
      take: 200,
    });
  }
  pendingApprovalFor(versionId: string, stage: Stage) {
    return this.db.client.approvalRequest.findFirst({ where: { versionId, toStage: stage, status: 'pending' } });
  }
  /** Only a pending request can be decided, and only once, even with two approvers clicking at once. */
  decideApproval(
    id: string,
    data: {
      status: 'approved' | 'rejected';
      decidedByKind: string;
      decidedById: string | null;
      decidedByName: string | null;
      decisionComment: string;
    },
  ) {
    return this.db.client.approvalRequest.updateMany({
      where: { id, status: 'pending' },
      data: { ...data, decidedAt: new Date() },
    });
  }
}
