import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma } from '../db/generated/client.js';
import { isUniqueViolation } from '../db/errors.js';

/** One prediction log row to insert (the table's id and seq are Postgres's). */
export interface PredictionLogRow {
  model: string;
  version: number;
  role: string;
  silent?: boolean;
  at: Date;
  features: Prisma.InputJsonValue;
  outputs: Prisma.InputJsonValue;
  latencyMs: number;
  predictionId?: string | null;
  entityIds?: string[];
  callerGroups?: string[];
}

@Injectable()
export class PredictionLogRepository {
  constructor(private readonly db: PrismaService) {}

  /**
   * A claimed chunk's rows, with the chunk's id in the same transaction: false (nothing inserted) when that chunk
   * was stored already, by the worker that claimed it first or by one that took it over.
   */
  async insertChunk(id: string, rows: PredictionLogRow[]): Promise<boolean> {
    try {
      await this.db.transaction(async (tx) => {
        // The chunk row first: a second writer of the same chunk waits on its key, then fails, inserting nothing.
        await tx.predictionLogChunk.create({ data: { id, rows: rows.length } });
        // One JSON parameter that Postgres unpacks, not createMany: Prisma's query compiler spent ~0.4 ms of the
        // worker's CPU per row (120 ms for a 300-row chunk, every 5 s under load, beside the api on the same
        // cores); this statement costs ~5 ms for the same chunk.
        if (rows.length)
          await tx.$executeRaw`
            INSERT INTO "PredictionLog" ("id", "model", "version", "role", "silent", "at", "features", "outputs",
              "latencyMs", "predictionId", "entityIds", "callerGroups")
            SELECT gen_random_uuid(), r.model, r.version, r.role, COALESCE(r.silent, false), r.at, r.features,
              r.outputs, r."latencyMs", r."predictionId", COALESCE(r."entityIds", '{}'), COALESCE(r."callerGroups", '{}')
            FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(model text, version int, role text,
              silent boolean, at timestamp(3), features jsonb, outputs jsonb, "latencyMs" float8, "predictionId" uuid,
              "entityIds" text[], "callerGroups" text[])`;
      });
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }
  forgetChunksBefore(before: Date) {
    return this.db.client.predictionLogChunk.deleteMany({ where: { at: { lt: before } } });
  }
  deleteBefore(before: Date) {
    return this.db.client.predictionLog.deleteMany({ where: { at: { lt: before } } });
  }
  /** Which of these prediction ids have a logged row of the model. */
  async presentPredictionIds(model: string, ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await this.db.client.$queryRaw<{ p: string }[]>`
      SELECT DISTINCT "predictionId"::text AS p FROM "PredictionLog"
      WHERE "model" = ${model} AND "predictionId" = ANY(${ids}::uuid[])`;
    return new Set(rows.map((r) => r.p));
  }
  /** Which of these entity ids appear in a logged row of the model (the GIN index on entityIds answers it). */
  async presentEntityIds(model: string, ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await this.db.client.$queryRaw<{ e: string }[]>`
      SELECT DISTINCT e FROM "PredictionLog", unnest("entityIds") AS e
      WHERE "model" = ${model} AND "entityIds" && ${ids}::text[] AND e = ANY(${ids}::text[])`;
    return new Set(rows.map((r) => r.e));
  }
  /**
   * The logged requests of a range that labels can join (features left out: only the outputs are scored), newest
   * first, at most `limit`.
   */
  forPerformance(model: string, from: Date, to: Date, version: number | undefined, limit: number) {
    return this.db.client.predictionLog.findMany({
      where: { model, version, at: { gte: from, lt: to } },
      select: {
        version: true,
        role: true,
        silent: true,
        at: true,
        outputs: true,
        predictionId: true,
        entityIds: true,
        callerGroups: true,
      },
      orderBy: { at: 'desc' },
      take: limit,
    });
  }
  recent(model: string, version: number | undefined, limit: number) {
    return this.db.client.predictionLog.findMany({ where: { model, version }, orderBy: { at: 'desc' }, take: limit });
  }
}
