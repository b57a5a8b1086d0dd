import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma } from '../db/generated/client.js';
import { asJson } from '../db/json.js';

/** A client inside or outside a transaction: fold writes run in one, reads do not need to. */
type Db = Prisma.TransactionClient;

/** Any number so other advisory locks cannot collide with it: "drift.fold" as the bytes of a bigint. */
const FOLD_LOCK = 0x64726966746f6c64n;
export const FOLD_CURSOR = 'drift.fold';

@Injectable()
export class DriftRepository {
  constructor(private readonly db: PrismaService) {}

  // ---- profiles ----
  upsertProfile(
    v: { versionId: string; model: string; number: number },
    data: { status: string; error?: string | null; schema?: unknown; profile?: unknown; rows?: number },
  ) {
    const fields = {
      status: data.status,
      error: data.error ?? null,
      schema: asJson(data.schema ?? {}),
      profile: data.profile ? asJson(data.profile) : undefined,
      rows: data.rows ?? 0,
    };
    return this.db.client.driftProfile.upsert({
      where: { versionId: v.versionId },
      create: { versionId: v.versionId, model: v.model, number: v.number, ...fields },
      update: fields,
    });
  }
  findProfile(model: string, number: number) {
    return this.db.client.driftProfile.findUnique({ where: { model_number: { model, number } } });
  }
  readyProfiles(keys: { model: string; number: number }[], db: Db = this.db.client) {
    if (!keys.length) return Promise.resolve([]);
    return db.driftProfile.findMany({
      where: { status: 'ready', OR: keys.map((k) => ({ model: k.model, number: k.number })) },
    });
  }
  /** The newest version of the model that has a profile (any status). */
  latestProfiled(model: string) {
    return this.db.client.driftProfile.findFirst({
      where: { model },
      orderBy: { number: 'desc' },
      select: { number: true },
    });
  }

  // ---- folding ----
  /**
   * The highest PredictionLog.seq whose row, and every row below it, is committed. A sequence hands out numbers
   * in order but inserts commit in any order, so reading "past the watermark" could skip a row still in flight;
   * SHARE mode waits for every open insert to commit (and holds new ones for this short transaction only).
   */
  async committedSeq(): Promise<bigint> {
    return this.db.transaction(async (tx) => {
      await tx.$executeRaw`LOCK TABLE "PredictionLog" IN SHARE MODE`;
      const [row] = await tx.$queryRaw<{ max: bigint | null }[]>`SELECT max("seq") AS max FROM "PredictionLog"`;
      return row?.max ?? 0n;
    });
  }

  /**
   * Runs fn in one transaction holding the fold lock, or returns null at once if another fold holds it: two
   * workers folding the same rows would count them twice.
   */
  async withFoldLock<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T | null> {
    return this.db.transaction(
      async (tx) => {
        const [r] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${FOLD_LOCK}) AS locked`;
        if (!r?.locked) return null;
        return fn(tx);
      },
      { timeout: 120_000, maxWait: 10_000 },
    );
  }
  async cursor(tx: Db, id = FOLD_CURSOR): Promise<bigint> {
    return (await tx.driftCursor.findUnique({ where: { id } }))?.seq ?? 0n;
  }
  setCursor(tx: Db, seq: bigint, id = FOLD_CURSOR) {
    return tx.driftCursor.upsert({ where: { id }, create: { id, seq }, update: { seq } });
  }
  logPage(tx: Db, after: bigint, upTo: bigint, take: number) {
    return tx.predictionLog.findMany({
      where: { seq: { gt: after, lte: upTo } },
      orderBy: { seq: 'asc' },
      take,
      select: { seq: true, model: true, version: true, silent: true, at: true, features: true, outputs: true },
    });
  }
  windowsAt(tx: Db, keys: { versionId: string; start: Date }[]) {
    if (!keys.length) return Promise.resolve([]);
    return tx.driftWindowRow.findMany({ where: { OR: keys.map((k) => ({ versionId: k.versionId, start: k.start })) } });
  }
  upsertWindow(tx: Db, w: Prisma.DriftWindowRowUncheckedCreateInput) {
    const { versionId, start, ...rest } = w;
    return tx.driftWindowRow.upsert({ where: { versionId_start: { versionId, start } }, create: w, update: rest });
  }

  // ---- reading windows ----
  windows(model: string, number: number, from: Date, to: Date, opts: { withWindow?: boolean } = {}) {
    return this.db.client.driftWindowRow.findMany({
      where: { model, number, start: { gte: from, lte: to } },
      orderBy: { start: 'asc' },
      take: 2000,
      select: {
        model: true,
        number: true,
        start: true,
        minutes: true,
        rows: true,
        silentRows: true,
        report: true,
        status: true,
        driftShare: true,
        updatedAt: true,
        window: opts.withWindow ?? false,
      },
    });
  }
  latestWindow(model: string, number: number, start?: Date) {
    return this.db.client.driftWindowRow.findFirst({
      where: { model, number, ...(start ? { start } : {}) },
      orderBy: { start: 'desc' },
    });
  }
  /** Windows of a model that started at or after `since`, newest first. */
  recentWindows(model: string, since: Date) {
    return this.db.client.driftWindowRow.findMany({
      where: { model, start: { gte: since } },
      orderBy: { start: 'desc' },
      select: { number: true, start: true, minutes: true, rows: true, silentRows: true, report: true },
    });
  }

  // ---- ad hoc reports ----
  createAdhoc(data: Prisma.DriftAdhocReportUncheckedCreateInput) {
    return this.db.client.driftAdhocReport.create({ data });
  }
  findAdhoc(id: string) {
    return this.db.client.driftAdhocReport.findUnique({ where: { id } });
  }
  updateAdhoc(id: string, data: Prisma.DriftAdhocReportUpdateInput) {
    return this.db.client.driftAdhocReport.update({ where: { id }, data });
  }

  /** Maintenance: windows that started before `before`, with their reports. */
  deleteWindowsBefore(before: Date) {
    return this.db.client.driftWindowRow.deleteMany({ where: { start: { lt: before } } });
  }
}
