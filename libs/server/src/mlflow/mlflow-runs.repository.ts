import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma } from '../db/generated/client.js';

export type MlflowRunRow = NonNullable<Awaited<ReturnType<MlflowRunsRepository['find']>>>;

@Injectable()
export class MlflowRunsRepository {
  constructor(private readonly db: PrismaService) {}

  create(data: Prisma.MlflowRunCreateInput) {
    return this.db.client.mlflowRun.create({ data });
  }

  find(id: string) {
    return this.db.client.mlflowRun.findUnique({ where: { id } });
  }

  update(id: string, data: Prisma.MlflowRunUpdateInput) {
    return this.db.client.mlflowRun.update({ where: { id }, data });
  }
}
