import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';

/** One label to store: its key ("p:<prediction id>:<row>" or "e:<entity id>") and what it says. */
export interface LabelRow {
  key: string;
  predictionId: string | null;
  row: number | null;
  entityId: string | null;
  label: string | number;
}

const CHUNK = 5000;

@Injectable()
export class FeedbackRepository {
  constructor(private readonly db: PrismaService) {}

  /** Labels last received before `before` (maintenance.cleanup: GROUND_TRUTH_RETENTION_DAYS). */
  deleteBefore(before: Date) {
    return this.db.client.groundTruth.deleteMany({ where: { updatedAt: { lt: before } } });
  }

  /**
   * Upsert by (model, key): a key labelled again gets the new label and one more `updates` (last one wins).
   * `xmax = 0` tells a freshly inserted row from an updated one. Keys must be unique within the call.
   */
  async upsert(modelId: string, rows: LabelRow[]): Promise<{ stored: number; replaced: number }> {
    let stored = 0;
    let replaced = 0;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const part = rows.slice(i, i + CHUNK);
      const result = await this.db.client.$queryRaw<{ inserted: boolean }[]>`
        INSERT INTO "GroundTruth" ("id", "modelId", "key", "predictionId", "row", "entityId", "label")
        SELECT gen_random_uuid(), ${modelId}::uuid, k, p::uuid, r, e, l::jsonb
        FROM unnest(${part.map((x) => x.key)}::text[], ${part.map((x) => x.predictionId)}::text[],
                    ${part.map((x) => x.row)}::int[], ${part.map((x) => x.entityId)}::text[],
                    ${part.map((x) => JSON.stringify(x.label))}::text[]) AS t(k, p, r, e, l)
        ON CONFLICT ("modelId", "key") DO UPDATE
          SET "label" = EXCLUDED."label", "updatedAt" = now(), "updates" = "GroundTruth"."updates" + 1
        RETURNING (xmax = 0) AS inserted`;
      for (const r of result) {
        if (r.inserted) stored++;
        else replaced++;
      }
    }
    return { stored, replaced };
  }

  /** The labels of a model about any of these predictions or entities (arrays bound as one parameter each). */
  find(modelId: string, predictionIds: string[], entityIds: string[]) {
    if (!predictionIds.length && !entityIds.length) return Promise.resolve([]);
    return this.db.client.$queryRaw<
      { predictionId: string | null; row: number | null; entityId: string | null; label: unknown }[]
    >`
      SELECT "predictionId"::text AS "predictionId", "row", "entityId", "label" FROM "GroundTruth"
      WHERE "modelId" = ${modelId}::uuid
        AND ("predictionId" = ANY(${predictionIds}::uuid[]) OR "entityId" = ANY(${entityIds}::text[]))`;
  }
}
