import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma } from '../db/generated/client.js';

@Injectable()
export class PredictionLogRepository {
  constructor(private readonly db: PrismaService) {}

  insertMany(rows: Prisma.PredictionLogCreateManyInput[]) {
    return this.db.client.predictionLog.createMany({ data: rows });
  }
  deleteBefore(before: Date) {
    return this.db.client.predictionLog.deleteMany({ where: { at: { lt: before } } });
  }
  recent(model: string, version: number | undefined, limit: number) {
    return this.db.client.predictionLog.findMany({ where: { model, version }, orderBy: { at: 'desc' }, take: limit });
  }
}
