import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { JobPayloadParsed } from '@modelyard/contracts';
import type { CommonConfig } from '@modelyard/config';
import { AppError } from '../platform/errors.js';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { ServingService } from '../serving/serving.service.js';
import { InputError } from '../serving/tensors.js';
import { StorageService } from '../storage/storage.service.js';
import type { BatchOptions } from './batch-options.js';
import { BatchScorer, jsonRow, type BatchFormat, type InputRow } from './batch-scorer.js';
import { CsvRecordReader } from './csv-stream.js';
import { JobsRepository, type JobRow } from './jobs.repository.js';
import { PredictionStore } from './prediction-store.js';

/** Output files are as large as the input allows; storage still streams them. */
const MAX_OUTPUT_BYTES = Number.MAX_SAFE_INTEGER;

/**
 * Scores a batch job's input in chunks of BATCH_CHUNK_ROWS rows. Each chunk's output (and bad rows) is written
 * as a part file, then recorded in JobChunk; only then does the job move on. A retry (after a crash, a kill, a
 * cancel) re-reads the input but skips every recorded chunk, and the final file is assembled from the parts
 * in order, so each input row appears exactly once in the output whatever happened in between.
 */
@Injectable()
export class BatchScoringService implements JobHandler<'batch.score'> {
  readonly job = 'batch.score' as const;

  constructor(
    private readonly repo: JobsRepository,
    private readonly serving: ServingService,
    private readonly storage: StorageService,
    private readonly store: PredictionStore,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig & { worker?: { batchChunkRows?: number } },
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle({ jobId }: JobPayloadParsed<'batch.score'>, ctx: JobContext) {
    const job = await this.repo.find(jobId);
    if (!job || job.status === 'cancelled' || job.status === 'succeeded') return { skipped: job?.status ?? 'missing' };
    const opts = job.options as unknown as BatchOptions & { chunkRows?: number };
    // Chunk boundaries must not move between attempts, whatever the next worker's config says.
    const chunkRows = opts.chunkRows ?? this.cfg.worker?.batchChunkRows ?? 10_000;
    await this.repo.update(jobId, {
      status: 'running', startedAt: job.startedAt ?? new Date(), attempts: { increment: 1 },
      ...(opts.chunkRows === undefined && { options: { ...opts, chunkRows } as never }),
    });
    try {
      const result = await this.run(job, opts, chunkRows, ctx);
      return result;
    } catch (e) {
      const final = (e instanceof AppError && e.status < 500) || ctx.attempt >= ctx.maxAttempts;
      const message = e instanceof AppError ? e.message : `The job failed: ${(e as Error).message}`;
      if (final) await this.repo.transition(jobId, ['running', 'queued'], { status: 'failed', error: message.slice(0, 2000), finishedAt: new Date() });
      else this.log.warn({ jobId, attempt: ctx.attempt, err: (e as Error).message }, 'batch job attempt failed; it will be retried');
      throw e;
    }
  }

  private async run(job: JobRow, opts: BatchOptions, chunkRows: number, ctx: JobContext) {
    const served = await this.serving.resolve(job.modelName, { version: job.version! });
    const format = (job.format ?? 'csv') as BatchFormat;
    const done = new Map((await this.repo.chunks(job.id)).map((c) => [c.index, c]));
    const totalBytes = (await this.storage.stat(job.inputUri!))?.sizeBytes ?? 0;
    const input = await this.storage.get(job.inputUri!);
    const decoder = new TextDecoder('utf-8');
    const csv = new CsvRecordReader();
    let scorer: BatchScorer | null = format === 'jsonl' ? this.scorer(served, [], opts, format) : null;
    let header: string[] | null = null;
    let pending: InputRow[] = [];
    let line = 0;
    let bytes = 0;
    let index = 0;
    let jsonCarry = '';
    let cancelled = false;

    const flush = async () => {
      const rows = pending;
      pending = [];
      const i = index++;
      if (done.has(i)) return;
      const scored = await scorer!.score(rows);
      const partUri = (await this.storage.put(opts.backend, `${opts.partsPrefix}part-${pad(i)}.${format}`, Readable.from([scored.output]), { maxBytes: MAX_OUTPUT_BYTES })).uri;
      const errorsUri = scored.rowsFailed
        ? (await this.storage.put(opts.backend, `${opts.partsPrefix}errors-${pad(i)}.${format}`, Readable.from([scored.errors]), { maxBytes: MAX_OUTPUT_BYTES })).uri
        : null;
      if (opts.entityColumn) await this.store.write(job.modelName, served.version, job.id, scored.stored);
      const chunk = await this.repo.recordChunk({ jobId: job.id, index: i, rowsIn: rows.length, rowsOut: scored.rowsOut, rowsFailed: scored.rowsFailed, partUri, errorsUri, bytesEnd: BigInt(bytes) });
      done.set(i, chunk);
      const progress = totalBytes ? Math.min(99, (bytes / totalBytes) * 100) : 0;
      let rowsIn = 0; let rowsOut = 0; let rowsFailed = 0;
      for (const c of done.values()) { rowsIn += c.rowsIn; rowsOut += c.rowsOut; rowsFailed += c.rowsFailed; }
      await this.repo.update(job.id, { progress, rowsIn, rowsOut, rowsFailed });
      await ctx.updateProgress(Math.round(progress));
      if ((await this.repo.status(job.id)) === 'cancelled') cancelled = true;
    };

    const take = async (rows: InputRow[]) => {
      for (const r of rows) {
        pending.push(r);
        if (pending.length >= chunkRows) {
          await flush();
          if (cancelled) return;
        }
      }
    };

    const onText = async (text: string, final: boolean) => {
      if (format === 'csv') {
        const records = final ? [...csv.push(text), ...csv.end()] : csv.push(text);
        let from = 0;
        if (!header && records.length) {
          const h = records[0]!;
          if (h.error) throw new InputError(`The CSV header cannot be read: ${h.error}`);
          header = h.fields.map((f) => f.trim());
          scorer = this.scorer(served, header, opts, format);
          from = 1;
        }
        const rows: InputRow[] = [];
        for (let k = from; k < records.length; k++) rows.push({ line: ++line, csv: records[k]! });
        await take(rows);
      } else {
        const all = jsonCarry + text;
        const lines = all.split('\n');
        jsonCarry = final ? '' : lines.pop()!;
        const rows: InputRow[] = [];
        for (const l of lines) {
          const t = l.trim();
          if (t) rows.push(jsonRow(t, ++line));
        }
        await take(rows);
      }
    };

    try {
      for await (const buf of input) {
        bytes += (buf as Buffer).length;
        await onText(decoder.decode(buf as Buffer, { stream: true }), false);
        if (cancelled) break;
      }
      if (!cancelled) {
        await onText(decoder.decode(), true);
        if (format === 'csv' && !header) throw new InputError('The input file is empty: a CSV input needs a header row');
        if (pending.length && !cancelled) await flush();
      }
    } finally {
      input.destroy();
    }
    if (cancelled) {
      this.log.info({ jobId: job.id, chunks: done.size }, 'batch job cancelled; its finished chunks are kept for a retry');
      return { cancelled: true };
    }
    return this.assemble(job, opts, scorer!, [...done.values()].sort((a, b) => a.index - b.index), index);
  }

  /** The output (and errors) file from the parts in chunk order, then the parts are removed. */
  private async assemble(job: JobRow, opts: BatchOptions, scorer: BatchScorer, chunks: Awaited<ReturnType<JobsRepository['chunks']>>, count: number) {
    const used = chunks.filter((c) => c.index < count);
    const concat = (head: string, uris: string[]) => {
      const storage = this.storage;
      return Readable.from((async function* () {
        if (head) yield Buffer.from(head);
        for (const uri of uris) yield* await storage.get(uri);
      })());
    };
    const out = await this.storage.put(opts.backend, opts.outputKey, concat(scorer.header, used.map((c) => c.partUri)), { maxBytes: MAX_OUTPUT_BYTES });
    const withErrors = used.filter((c) => c.errorsUri);
    const errors = withErrors.length
      ? await this.storage.put(opts.backend, opts.errorsKey, concat(scorer.errorsHeader, withErrors.map((c) => c.errorsUri!)), { maxBytes: MAX_OUTPUT_BYTES })
      : null;
    const totals = used.reduce((t, c) => ({ rowsIn: t.rowsIn + c.rowsIn, rowsOut: t.rowsOut + c.rowsOut, rowsFailed: t.rowsFailed + c.rowsFailed }), { rowsIn: 0, rowsOut: 0, rowsFailed: 0 });
    const finished = await this.repo.transition(job.id, ['running', 'queued'], {
      status: 'succeeded', progress: 100, outputUri: out.uri, errorsUri: errors?.uri ?? null, finishedAt: new Date(), error: null, ...totals,
    });
    if (finished) {
      await Promise.allSettled(chunks.flatMap((c) => [c.partUri, c.errorsUri].filter((u): u is string => !!u).map((u) => this.storage.delete(u))));
      await this.repo.deleteChunks(job.id);
    }
    this.log.info({ jobId: job.id, model: job.modelName, ...totals }, 'batch job finished');
    return { ...totals, outputUri: out.uri };
  }

  private scorer(served: Awaited<ReturnType<ServingService['resolve']>>, columns: string[], opts: BatchOptions, format: BatchFormat) {
    return new BatchScorer(served, columns, { format, columns: opts.columns, idColumn: opts.idColumn, entityColumn: opts.entityColumn });
  }
}

const pad = (i: number) => String(i).padStart(6, '0');
