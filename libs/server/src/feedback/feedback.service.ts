import { Injectable } from '@nestjs/common';
import type { TFeedbackResult } from '@modelyard/contracts';
import { authorize, authorizeModel, type Principal } from '../auth/principal.js';
import { keyFor } from '../tenancy/model-key.js';
import { AppError } from '../platform/errors.js';
import { PredictionLogRepository } from '../predictions/prediction-log.repository.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { FeedbackRepository, type LabelRow } from './feedback.repository.js';
import { parseFeedback } from './feedback-parse.js';

/**
 * Ground truth: labels or target values for a model's predictions, by prediction id (and row) or by the caller's
 * entity id, stored once per key (the last one wins; replacements and duplicates are counted). Labels are data
 * like predictions, not configuration: no domain event (an upload of 50,000 labels is not 50,000 audit rows).
 */
@Injectable()
export class FeedbackService {
  constructor(
    private readonly repo: FeedbackRepository,
    private readonly registry: RegistryRepository,
    private readonly log: PredictionLogRepository,
  ) {}

  async submit(
    actor: Principal,
    name: string,
    body: unknown,
    contentType: string | undefined,
  ): Promise<TFeedbackResult> {
    authorize(actor, 'feedback.write');
    authorizeModel(actor, name);
    const m = await this.registry.findModel(keyFor(actor, name));
    if (!m) throw new AppError('NOT_FOUND', `Model "${name}" not found`);
    const items = parseFeedback(body, contentType);
    // Later items of one upload win over earlier ones with the same key (one upsert per key per statement).
    const byKey = new Map<string, LabelRow>();
    for (const i of items) {
      const row: LabelRow = i.predictionId
        ? {
            key: `p:${i.predictionId.toLowerCase()}:${i.row ?? 0}`,
            predictionId: i.predictionId,
            row: i.row ?? 0,
            entityId: null,
            label: i.label,
          }
        : { key: `e:${i.entityId!}`, predictionId: null, row: null, entityId: i.entityId!, label: i.label };
      byKey.delete(row.key);
      byKey.set(row.key, row);
    }
    const rows = [...byKey.values()];
    const { stored, replaced } = await this.repo.upsert(m.id, rows);
    const pids = [...new Set(rows.flatMap((r) => (r.predictionId ? [r.predictionId.toLowerCase()] : [])))];
    const eids = rows.flatMap((r) => (r.entityId ? [r.entityId] : []));
    const [presentP, presentE] = await Promise.all([
      this.log.presentPredictionIds(name, pids),
      this.log.presentEntityIds(name, eids),
    ]);
    const matched = rows.filter((r) =>
      r.predictionId ? presentP.has(r.predictionId.toLowerCase()) : presentE.has(r.entityId!),
    ).length;
    return { received: items.length, stored, replaced, duplicates: items.length - rows.length, matched };
  }
}
