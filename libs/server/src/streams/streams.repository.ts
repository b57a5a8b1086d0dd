import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma } from '../db/generated/client.js';

const withModel = { model: { select: { name: true } } } as const;

export type StreamRow = Awaited<ReturnType<StreamsRepository['find']>> & object;

/** Stream deployments (tied to their model by modelId; the model's name comes along for answers and keys). */
@Injectable()
export class StreamsRepository {
  constructor(private readonly db: PrismaService) {}

  create(data: Prisma.StreamDeploymentUncheckedCreateInput) {
    return this.db.client.streamDeployment.create({ data, include: withModel });
  }

  find(modelId: string, name: string) {
    return this.db.client.streamDeployment.findUnique({
      where: { modelId_name: { modelId, name } },
      include: withModel,
    });
  }

  /** Every stream deployment, or one model's: the worker reads all of them every few seconds (one query). */
  /** One model's, or one project's (undefined: every project's). */
  list(modelId?: string, projectId?: string) {
    return this.db.client.streamDeployment.findMany({
      where: { ...(modelId ? { modelId } : {}), ...(projectId ? { model: { projectId } } : {}) },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      include: withModel,
    });
  }

  update(id: string, data: Prisma.StreamDeploymentUncheckedUpdateInput) {
    return this.db.client.streamDeployment.update({ where: { id }, data, include: withModel });
  }

  delete(id: string) {
    return this.db.client.streamDeployment.delete({ where: { id }, include: withModel });
  }
}
