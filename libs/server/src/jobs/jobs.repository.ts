import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { JobStatus, Prisma } from '../db/generated/client.js';
import type { ModelJobs } from '../registry/ports.js';
import { jobFileUris } from './batch-options.js';
import { isForeignKeyViolation } from '../db/errors.js';
import { notFound } from '../platform/errors.js';

export type JobRow = Awaited<ReturnType<JobsRepository['find']>> & object;
export type ScheduleRow = Awaited<ReturnType<JobsRepository['findSchedule']>> & object;

export interface JobFilter {
  type?: 'predict_async' | 'batch_score';
  status?: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  modelName?: string;
  /** Only this project's jobs (undefined: every project's). */
  projectId?: string;
  createdById?: string;
  limit: number;
  before?: { at: Date; id: string };
}

/**
 * A finished batch job's files (output, errors) added to its `storedBytes`, which its project's maxStoredBytes
 * counts until the job is deleted (its uploaded input was counted at submission).
 */
export const addStoredBytes = (...files: ({ sizeBytes: number } | null)[]) => ({
  increment: BigInt(files.reduce((sum, f) => sum + (f?.sizeBytes ?? 0), 0)),
});

@Injectable()
export class JobsRepository implements ModelJobs {
  constructor(private readonly db: PrismaService) {}

  activeCount(modelId: string) {
    return this.db.client.job.count({ where: { modelId, status: { in: ['queued', 'running'] } } });
  }
  async files(modelId: string) {
    // Only batch jobs have files (an async prediction keeps its request and result in its row): a model's many
    // async predictions are not read under the model's lock for nothing.
    const jobs = await this.db.client.job.findMany({
      where: { modelId, type: 'batch_score' },
      select: {
        ownedInput: true,
        inputUri: true,
        outputUri: true,
        errorsUri: true,
        chunks: { select: { partUri: true, errorsUri: true } },
      },
    });
    return jobs.flatMap((j) => jobFileUris(j, j.chunks));
  }

  /**
   * A model deleted since the caller looked it up (its deletion holds the model's row while the insert's foreign
   * key waits for it) is the caller's 404, not a server error.
   */
  async create(data: Prisma.JobUncheckedCreateInput) {
    try {
      return await this.db.client.job.create({ data });
    } catch (e) {
      throw isForeignKeyViolation(e) ? notFound(`Model ${data.modelName}`) : e;
    }
  }

  find(id: string) {
    return this.db.client.job.findUnique({ where: { id } });
  }

  /** Jobs that some queue entry should be carrying (the reconciler's view of Postgres). */
  unfinished() {
    return this.db.client.job.findMany({
      where: { status: { in: ['queued', 'running'] } },
      select: { id: true, type: true },
    });
  }

  list(f: JobFilter) {
    return this.db.client.job.findMany({
      where: {
        type: f.type,
        status: f.status,
        modelName: f.modelName,
        ...(f.projectId ? { model: { projectId: f.projectId } } : {}),
        createdById: f.createdById,
        ...(f.before
          ? { OR: [{ submittedAt: { lt: f.before.at } }, { submittedAt: f.before.at, id: { lt: f.before.id } }] }
          : {}),
      },
      orderBy: [{ submittedAt: 'desc' }, { id: 'desc' }],
      take: f.limit + 1,
      // The request and result of async predictions can be large: the list does not carry them.
      omit: { request: true, result: true },
    });
  }

  update(id: string, data: Prisma.JobUncheckedUpdateInput) {
    return this.db.client.job.update({ where: { id }, data });
  }

  /** Moves a job from one of `from` to `to` atomically; false when another process got there first. */
  async transition(id: string, from: JobStatus[], data: Prisma.JobUncheckedUpdateInput): Promise<boolean> {
    const r = await this.db.client.job.updateMany({ where: { id, status: { in: from } }, data });
    return r.count === 1;
  }

  async status(id: string): Promise<string | null> {
    return (await this.db.client.job.findUnique({ where: { id }, select: { status: true } }))?.status ?? null;
  }

  chunks(jobId: string) {
    return this.db.client.jobChunk.findMany({ where: { jobId }, orderBy: { index: 'asc' } });
  }

  /** Recorded after the chunk's part files are written; recording the same chunk twice keeps the first. */
  recordChunk(data: Prisma.JobChunkUncheckedCreateInput) {
    return this.db.client.jobChunk.upsert({
      where: { jobId_index: { jobId: data.jobId, index: data.index } },
      create: data,
      update: {},
    });
  }

  async chunkTotals(jobId: string) {
    const a = await this.db.client.jobChunk.aggregate({
      where: { jobId },
      _count: true,
      _sum: { rowsIn: true, rowsOut: true, rowsFailed: true },
    });
    return {
      chunks: a._count,
      rowsIn: a._sum.rowsIn ?? 0,
      rowsOut: a._sum.rowsOut ?? 0,
      rowsFailed: a._sum.rowsFailed ?? 0,
    };
  }

  countChunks(jobId: string) {
    return this.db.client.jobChunk.count({ where: { jobId } });
  }

  deleteChunks(jobId: string) {
    return this.db.client.jobChunk.deleteMany({ where: { jobId } });
  }

  /** Deletes the job (and its chunk rows) if it is finished; false when it is not, or gone. */
  async deleteFinished(id: string): Promise<boolean> {
    const r = await this.db.client.job.deleteMany({
      where: { id, status: { in: ['succeeded', 'failed', 'cancelled'] } },
    });
    return r.count > 0;
  }

  deleteExpired(now: Date) {
    return this.db.client.job.deleteMany({ where: { expiresAt: { lt: now } } });
  }

  // ---- schedules ----

  createSchedule(data: Prisma.ScoringScheduleUncheckedCreateInput) {
    return this.db.client.scoringSchedule.create({ data, include: { model: { select: { name: true } } } });
  }

  findSchedule(id: string) {
    return this.db.client.scoringSchedule.findUnique({ where: { id }, include: { model: { select: { name: true } } } });
  }

  /** `projectId` undefined: every project's. */
  listSchedules(projectId?: string) {
    return this.db.client.scoringSchedule.findMany({
      where: projectId ? { model: { projectId } } : {},
      orderBy: { createdAt: 'desc' },
      include: { model: { select: { name: true } } },
    });
  }

  updateSchedule(id: string, data: Prisma.ScoringScheduleUncheckedUpdateInput) {
    return this.db.client.scoringSchedule.update({
      where: { id },
      data,
      include: { model: { select: { name: true } } },
    });
  }

  deleteSchedule(id: string) {
    return this.db.client.scoringSchedule.delete({ where: { id } });
  }

  async scheduledInputs(scheduleId: string): Promise<Set<string>> {
    const rows = await this.db.client.scheduledInput.findMany({ where: { scheduleId }, select: { inputUri: true } });
    return new Set(rows.map((r) => r.inputUri));
  }

  /** Claims an input for a schedule; false when it was already claimed (by an earlier run or another worker). */
  async claimInput(scheduleId: string, inputUri: string, jobId: string): Promise<boolean> {
    const r = await this.db.client.scheduledInput.createMany({
      data: [{ scheduleId, inputUri, jobId }],
      skipDuplicates: true,
    });
    return r.count === 1;
  }
}

/** The row counts of a job's chunks, added up. */
export function chunkTotals(chunks: readonly { rowsIn: number; rowsOut: number; rowsFailed: number }[]) {
  return chunks.reduce(
    (t, c) => ({
      rowsIn: t.rowsIn + c.rowsIn,
      rowsOut: t.rowsOut + c.rowsOut,
      rowsFailed: t.rowsFailed + c.rowsFailed,
    }),
    { rowsIn: 0, rowsOut: 0, rowsFailed: 0 },
  );
}
