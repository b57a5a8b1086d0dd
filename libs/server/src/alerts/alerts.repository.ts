import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma } from '../db/generated/client.js';
import { asJson } from '../db/json.js';

@Injectable()
export class AlertsRepository {
  constructor(private readonly db: PrismaService) {}

  findRules(modelId: string) {
    return this.db.client.alertRuleSet.findUnique({ where: { modelId } });
  }
  putRules(modelId: string, data: { latencySloMs: number; rules: unknown; updatedByName: string | null }) {
    const fields = { latencySloMs: data.latencySloMs, rules: asJson(data.rules), updatedByName: data.updatedByName };
    return this.db.client.alertRuleSet.upsert({ where: { modelId }, create: { modelId, ...fields }, update: fields });
  }
  /** Every model with rules, with its name. */
  allRuleSets() {
    return this.db.client.alertRuleSet.findMany({ include: { model: { select: { name: true } } } });
  }
  /** Firing alerts of non-silent versions, counted per model name and rule kind (the worker's /metrics). */
  firingCounts() {
    return this.db.client.alert.groupBy({
      by: ['modelName', 'kind'],
      where: { state: 'firing', silent: false },
      _count: { _all: true },
    });
  }
  firing(modelId: string) {
    return this.db.client.alert.findMany({ where: { modelId, state: 'firing' } });
  }
  /**
   * null when an alert for the same rule and version is already firing (openKey is unique). ON CONFLICT DO
   * NOTHING rather than catching the violation: it runs inside the caller's transaction, which an error aborts.
   */
  async open(data: Prisma.AlertUncheckedCreateInput) {
    const [row] = await this.db.client.alert.createManyAndReturn({ data: [data], skipDuplicates: true });
    return row ?? null;
  }
  resolve(id: string, at: Date) {
    return this.db.client.alert.updateMany({
      where: { id, state: 'firing' },
      data: { state: 'resolved', openKey: null, resolvedAt: at },
    });
  }
  /** `projectId` undefined: every project's. */
  list(q: { model?: string; state?: string; limit: number }, projectId?: string) {
    return this.db.client.alert.findMany({
      where: {
        ...(q.model ? { modelName: q.model } : {}),
        ...(q.state ? { state: q.state } : {}),
        ...(projectId ? { model: { projectId } } : {}),
      },
      orderBy: [{ firedAt: 'desc' }, { id: 'desc' }],
      take: q.limit,
    });
  }

  /** Maintenance: alerts that resolved before `before` (firing ones stay, however old). */
  deleteResolvedBefore(before: Date) {
    return this.db.client.alert.deleteMany({ where: { state: 'resolved', resolvedAt: { lt: before } } });
  }
}
