import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Prisma } from '../db/generated/client.js';

@Injectable()
export class AlertsRepository {
  constructor(private readonly db: PrismaService) {}

  findRules(modelId: string) {
    return this.db.alertRuleSet.findUnique({ where: { modelId } });
  }
  putRules(modelId: string, data: { latencySloMs: number; rules: unknown; updatedByName: string | null }) {
    const fields = { latencySloMs: data.latencySloMs, rules: data.rules as never, updatedByName: data.updatedByName };
    return this.db.alertRuleSet.upsert({ where: { modelId }, create: { modelId, ...fields }, update: fields });
  }
  /** Every model with rules, with its name. */
  allRuleSets() {
    return this.db.alertRuleSet.findMany({ include: { model: { select: { name: true } } } });
  }
  firing(modelId: string) {
    return this.db.alert.findMany({ where: { modelId, state: 'firing' } });
  }
  /** null when an alert for the same rule and version is already firing (openKey is unique). */
  async open(data: Prisma.AlertUncheckedCreateInput) {
    try {
      return await this.db.alert.create({ data });
    } catch (e) {
      if (isUniqueViolation(e)) return null;
      throw e;
    }
  }
  resolve(id: string, at: Date) {
    return this.db.alert.updateMany({ where: { id, state: 'firing' }, data: { state: 'resolved', openKey: null, resolvedAt: at } });
  }
  list(q: { model?: string; state?: string; limit: number }) {
    return this.db.alert.findMany({
      where: { ...(q.model ? { modelName: q.model } : {}), ...(q.state ? { state: q.state } : {}) },
      orderBy: [{ firedAt: 'desc' }, { id: 'desc' }], take: q.limit,
    });
  }

  /** Maintenance: alerts that resolved before `before` (firing ones stay, however old). */
  deleteResolvedBefore(before: Date) {
    return this.db.alert.deleteMany({ where: { state: 'resolved', resolvedAt: { lt: before } } });
  }
}
