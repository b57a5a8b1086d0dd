import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import type { JobPayloadParsed } from '@modelyard/contracts';
import type { CommonConfig } from '@modelyard/config';
import { AppError } from '../platform/errors.js';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import { DEFAULT_CONTRIBUTIONS_MAX_ROWS, withRowBudget } from './batch-contributions.js';
import { JobProducer } from '../queue/job-producer.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { ServingService } from '../serving/serving.service.js';
import { InputError } from '../engine/index.js';
import { StorageService } from '../storage/storage.service.js';
import type { BatchOptions } from './batch-options.js';
import { BatchScorer, columnIndexes, jsonRow, type BatchFormat, type InputRow } from './batch-scorer.js';
import { CsvRecordReader } from './csv-stream.js';
import { BatchInlineService } from './batch-inline.js';
import { ExplainService } from '../explain/explain.service.js';
import { assembleTable } from './batch-frames.js';
import { chunkFileUris, errorsAreCsv } from './batch-options.js';
import type { TBatchFormat } from '@modelyard/contracts';
import { addStoredBytes, chunkTotals, JobsRepository, type JobRow } from './jobs.repository.js';
import { PredictionStore } from './prediction-store.js';
import { publicReason } from '../platform/public-reason.js';
import { asJson } from '../db/json.js';

/** Output files are as large as the input allows; storage still streams them. */
const MAX_PART_BYTES = Number.MAX_SAFE_INTEGER;
/** Who scored a chunk, for the job's `workers` (and to show that a job was shared). */
const WORKER_ID = `${hostname()}:${process.pid}`;

type BatchJobOptions = BatchOptions & { chunkRows?: number; chunkCount?: number; chunkEstimate?: number };
const pad = (i: number) => String(i).padStart(6, '0');

/** Marks the job failed when this attempt is its last (or the error is the input's fault), then rethrows. */
async function failJob(repo: JobsRepository, log: Logger, jobId: string, ctx: JobContext, e: unknown): Promise<never> {
  const final = (e instanceof AppError && e.status < 500) || ctx.attempt >= ctx.maxAttempts;
  const message = publicReason(e, 'The job failed');
  if (final)
    await repo.transition(jobId, ['running', 'queued'], {
      status: 'failed',
      error: message.slice(0, 2000),
      finishedAt: new Date(),
    });
  else
    log.warn({ jobId, attempt: ctx.attempt, err: (e as Error).message }, 'batch job step failed; it will be retried');
  throw e;
}

/**
 * A batch job runs in three kinds of BullMQ jobs, so every worker can take part and none holds the whole job:
 * `batch.score` reads the input once and cuts it into chunks of BATCH_CHUNK_ROWS rows (fixed on the first attempt),
 * each written as an input part file and queued as `batch.chunk`; each chunk is scored by whichever worker takes
 * it, which writes its output (and bad rows) as part files and only then records a JobChunk row; when every chunk
 * is recorded, `batch.assemble` joins the parts in chunk order. Any of them may be retried (after a crash, a kill,
 * a cancel): recorded chunks are skipped and parts are rewritten under the same names, so each input row appears
 * exactly once in the output.
 */
@Injectable()
export class BatchScoringService implements JobHandler<'batch.score'> {
  readonly job = 'batch.score' as const;

  constructor(
    private readonly repo: JobsRepository,
    private readonly storage: StorageService,
    private readonly producer: JobProducer,
    @Inject(COMMON_CONFIG)
    private readonly cfg: CommonConfig & { worker?: { batchChunkRows?: number; batchInlineMaxBytes?: number } },
    @Inject(LOGGER) private readonly log: Logger,
    /** Absent (unit tests of the splitter): every job is cut into chunk jobs. */
    @Optional() private readonly inline?: BatchInlineService,
  ) {}

  async handle({ jobId }: JobPayloadParsed<'batch.score'>, ctx: JobContext) {
    const job = await this.repo.find(jobId);
    if (!job || job.status === 'cancelled' || job.status === 'succeeded') return { skipped: job?.status ?? 'missing' };
    const opts = job.options as unknown as BatchJobOptions;
    // Chunk boundaries must not move between attempts, whatever the next worker's config says.
    const chunkRows = opts.chunkRows ?? this.cfg.worker?.batchChunkRows ?? 50_000;
    // Only from queued or running: a cancel that lands between the read above and here must win.
    const started = await this.repo.transition(jobId, ['queued', 'running'], {
      status: 'running',
      startedAt: job.startedAt ?? new Date(),
      attempts: { increment: 1 },
      ...(opts.chunkRows === undefined && { options: asJson({ ...opts, chunkRows }) }),
    });
    if (!started) return { skipped: await this.repo.status(jobId) };
    try {
      if (await this.scoresInline(job)) {
        const r = await this.inline!.run(job, { ...opts, chunkRows });
        // Written once (no chunks recorded before this attempt): the job is already succeeded.
        if (!r.cancelled && !r.finished) await queueAssembly(this.producer, job.id, job.attempts + 1);
        return r;
      }
      return await this.split(job, { ...opts, chunkRows }, chunkRows, job.attempts + 1);
    } catch (e) {
      return failJob(this.repo, this.log, jobId, ctx, e);
    }
  }

  /** Whether this worker scores the whole input itself (BatchInlineService) instead of cutting it into chunk jobs. */
  private async scoresInline(job: JobRow): Promise<boolean> {
    const max = this.cfg.worker?.batchInlineMaxBytes ?? 0;
    const format = job.format ?? 'csv';
    const out = (job.options as unknown as BatchJobOptions).outputFormat ?? format;
    // JSON Lines in, JSON Lines out: always cut into chunk jobs.
    if (format === 'jsonl') return false;
    const size = (await this.storage.stat(job.inputUri!))?.sizeBytes;
    if (format !== 'csv' || out !== 'csv') {
      // Tables are read whole by one worker: chunk jobs cut text only.
      const limit = max || 512 * 1024 * 1024;
      if (size !== undefined && size > limit)
        throw new InputError(
          `The ${format} input is ${size} bytes; one worker reads at most ${limit} (BATCH_INLINE_MAX_BYTES). ` +
            'Split it into smaller files',
        );
      if (!this.inline) throw new InputError(`This worker cannot score a ${format} input into ${out}`);
      return true;
    }
    if (!this.inline || !max) return false;
    return size !== undefined && size <= max;
  }

  private async split(job: JobRow, opts: BatchJobOptions, chunkRows: number, attempt: number) {
    const format = (job.format ?? 'csv') as BatchFormat;
    const done = new Set((await this.repo.chunks(job.id)).map((c) => c.index));
    const totalBytes = (await this.storage.stat(job.inputUri!))?.sizeBytes ?? 0;
    const input = await this.storage.get(job.inputUri!);
    const decoder = new TextDecoder('utf-8');
    // Only record boundaries are needed here: the chunk jobs split fields.
    const csv = new CsvRecordReader({ fields: false });
    let header: string | null = null;
    let columns: string[] = [];
    let pending: string[] = [];
    let firstLine = 1;
    let line = 0;
    let bytes = 0;
    let index = 0;
    let queued = 0;
    let jsonCarry = '';
    let cancelled = false;

    const flush = async () => {
      const rows = pending;
      pending = [];
      const i = index++;
      const from = firstLine;
      firstLine = line + 1;
      if (done.has(i)) return;
      const body = format === 'csv' ? `${header}\n${rows.join('\n')}\n` : `${rows.join('\n')}\n`;
      const part = await this.storage.put(
        opts.backend,
        `${opts.partsPrefix}input-${pad(i)}.${format}`,
        Readable.from([body]),
        { maxBytes: MAX_PART_BYTES },
      );
      await this.producer.enqueue(
        'batch.chunk',
        { jobId: job.id, index: i, firstLine: from, inputUri: part.uri },
        { jobId: `chunk-${job.id}-${i}-${attempt}` },
      );
      queued++;
      if (i % 8 === 7) {
        // An estimate of the chunk count, for progress until the real count is known.
        const estimate = totalBytes && bytes ? Math.ceil((index * totalBytes) / bytes) : undefined;
        await this.repo.update(job.id, { options: asJson({ ...opts, chunkEstimate: estimate }) });
        if ((await this.repo.status(job.id)) === 'cancelled') cancelled = true;
      }
    };

    const take = async (raw: string[]) => {
      for (const r of raw) {
        pending.push(r);
        line++;
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
        if (header === null && records.length) {
          const h = records[0]!;
          if (h.error) throw new InputError(`The CSV header cannot be read: ${h.error}`);
          header = h.raw;
          columns = h.fields.map((f) => f.trim());
          // Refuses an id or entity column the input does not have before any chunk is queued.
          columnIndexes(columns, {
            format,
            columns: opts.columns,
            idColumn: opts.idColumn,
            entityColumn: opts.entityColumn,
          });
          from = 1;
        }
        await take(records.slice(from).map((r) => r.raw));
      } else {
        const lines = (jsonCarry + text).split('\n');
        jsonCarry = final ? '' : lines.pop()!;
        await take(lines.map((l) => l.trim()).filter((l) => l));
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
        if (format === 'csv' && header === null)
          throw new InputError('The input file is empty: a CSV input needs a header row');
        if (pending.length) await flush();
      }
    } finally {
      input.destroy();
    }
    if (cancelled) {
      this.log.info({ jobId: job.id }, 'batch job cancelled while splitting; its finished chunks are kept for a retry');
      return { cancelled: true };
    }
    await this.repo.update(job.id, { options: asJson({ ...opts, chunkCount: index }) });
    // The chunks may all have been scored already (a retry after everything but the assembly).
    if ((await this.repo.countChunks(job.id)) >= index) await queueAssembly(this.producer, job.id, attempt);
    this.log.info({ jobId: job.id, chunks: index, queued }, 'batch job split');
    return { chunks: index, queued };
  }
}

const queueAssembly = (producer: JobProducer, jobId: string, attempt: number) =>
  producer.enqueue('batch.assemble', { jobId }, { jobId: `assemble-${jobId}-${attempt}` });

/** Scores one chunk of a batch job; see BatchScoringService. */
@Injectable()
export class BatchChunkService implements JobHandler<'batch.chunk'> {
  readonly job = 'batch.chunk' as const;

  constructor(
    private readonly repo: JobsRepository,
    private readonly serving: ServingService,
    private readonly storage: StorageService,
    private readonly store: PredictionStore,
    private readonly producer: JobProducer,
    @Inject(LOGGER) private readonly log: Logger,
    /** Contribution columns (`output.contributions`); absent in unit tests that do not ask for them. */
    @Optional() private readonly explain?: ExplainService,
    @Optional()
    @Inject(COMMON_CONFIG)
    private readonly cfg?: CommonConfig & { worker?: { batchContributionsMaxRows?: number } },
  ) {}

  async handle({ jobId, index, firstLine, inputUri }: JobPayloadParsed<'batch.chunk'>, ctx: JobContext) {
    const job = await this.repo.find(jobId);
    if (!job || job.status !== 'running') return { skipped: job?.status ?? 'missing' };
    try {
      const opts = job.options as unknown as BatchJobOptions;
      const format = (job.format ?? 'csv') as BatchFormat;
      const served = await this.serving.resolve(job.modelName, { version: job.version! });
      const chunks: Buffer[] = [];
      for await (const c of await this.storage.get(inputUri)) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let columns: string[] = [];
      let rows: InputRow[];
      if (format === 'csv') {
        const reader = new CsvRecordReader();
        const records = [...reader.push(text), ...reader.end()];
        columns = records[0]!.fields.map((f) => f.trim());
        rows = records.slice(1).map((csv, k) => ({ line: firstLine + k, csv }));
      } else {
        rows = text
          .split('\n')
          .filter((l) => l)
          .map((l, k) => jsonRow(l, firstLine + k));
      }
      const explain = this.explain;
      const scorer = new BatchScorer(
        served,
        columns,
        {
          format,
          columns: opts.columns,
          idColumn: opts.idColumn,
          entityColumn: opts.entityColumn,
          contributions: opts.contributions,
        },
        explain &&
          withRowBudget(
            (sv, x, n) => explain.explainBatch(sv, x, n),
            this.cfg?.worker?.batchContributionsMaxRows ?? DEFAULT_CONTRIBUTIONS_MAX_ROWS,
            // Chunks are cut at chunkRows rows (fixed on the job's first attempt): the rows before this one.
            index * (opts.chunkRows ?? 0),
          ),
      );
      const scored = await scorer.score(rows);
      const partUri = (
        await this.storage.put(
          opts.backend,
          `${opts.partsPrefix}part-${pad(index)}.${format}`,
          Readable.from([scored.output]),
          { maxBytes: MAX_PART_BYTES },
        )
      ).uri;
      const errorsUri = scored.rowsFailed
        ? (
            await this.storage.put(
              opts.backend,
              `${opts.partsPrefix}errors-${pad(index)}.${format}`,
              Readable.from([scored.errors]),
              { maxBytes: MAX_PART_BYTES },
            )
          ).uri
        : null;
      if (opts.entityColumn) await this.store.write(job.modelName, served.version, job.id, scored.stored);
      await this.repo.recordChunk({
        jobId,
        index,
        rowsIn: rows.length,
        rowsOut: scored.rowsOut,
        rowsFailed: scored.rowsFailed,
        partUri,
        errorsUri,
        bytesEnd: 0n,
        scoredBy: WORKER_ID,
      });
      await this.progress(job, ctx);
      return { rows: rows.length };
    } catch (e) {
      return failJob(this.repo, this.log, jobId, ctx, e);
    }
  }

  private async progress(job: JobRow, ctx: JobContext) {
    const t = await this.repo.chunkTotals(job.id);
    // Read after this chunk's row is in: either this sees the final count, or the splitter sees this chunk.
    const fresh = await this.repo.find(job.id);
    const opts = fresh?.options as unknown as BatchJobOptions | undefined;
    const count = opts?.chunkCount;
    const expected = count ?? Math.max(opts?.chunkEstimate ?? 0, t.chunks + 1);
    const progress = Math.min(99, (t.chunks / expected) * 100);
    await this.repo.transition(job.id, ['running'], {
      progress,
      rowsIn: t.rowsIn,
      rowsOut: t.rowsOut,
      rowsFailed: t.rowsFailed,
    });
    await ctx.updateProgress(Math.round(progress));
    if (count !== undefined && t.chunks >= count) await queueAssembly(this.producer, job.id, fresh?.attempts ?? 0);
  }
}

/** Joins a batch job's parts into its output and errors files; see BatchScoringService. */
@Injectable()
export class BatchAssembleService implements JobHandler<'batch.assemble'> {
  readonly job = 'batch.assemble' as const;

  constructor(
    private readonly repo: JobsRepository,
    private readonly serving: ServingService,
    private readonly storage: StorageService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle({ jobId }: JobPayloadParsed<'batch.assemble'>, ctx: JobContext) {
    const job = await this.repo.find(jobId);
    if (!job || job.status !== 'running') return { skipped: job?.status ?? 'missing' };
    const opts = job.options as unknown as BatchJobOptions;
    const chunks = await this.repo.chunks(jobId);
    if (opts.chunkCount === undefined || chunks.length < opts.chunkCount) return { waiting: true };
    try {
      const input = (job.format ?? 'csv') as TBatchFormat;
      const outFormat = opts.outputFormat ?? input;
      const format: BatchFormat = outFormat === 'jsonl' ? 'jsonl' : 'csv';
      const used = chunks.filter((c) => c.index < opts.chunkCount!).sort((a, b) => a.index - b.index);
      const served = await this.serving.resolve(job.modelName, { version: job.version! });
      const columns = opts.inputColumns ?? (input === 'csv' ? await this.inputColumns(job) : []);
      const scorer = new BatchScorer(served, columns, {
        format,
        columns: opts.columns,
        idColumn: opts.idColumn,
        entityColumn: opts.entityColumn,
        contributions: opts.contributions,
      });
      const concat = (head: string, uris: string[]) => {
        const storage = this.storage;
        return Readable.from(
          (async function* () {
            if (head) yield Buffer.from(head);
            for (const uri of uris) yield* await storage.get(uri);
          })(),
        );
      };
      const out =
        outFormat === 'parquet' || outFormat === 'arrow'
          ? await this.storage.put(
              opts.backend,
              opts.outputKey,
              Readable.from([await this.table(used, outFormat, opts.chunkRows ?? 250_000)]),
              { maxBytes: MAX_PART_BYTES },
            )
          : await this.storage.put(
              opts.backend,
              opts.outputKey,
              concat(
                scorer.header,
                used.map((c) => c.partUri),
              ),
              { maxBytes: MAX_PART_BYTES },
            );
      const withErrors = used.filter((c) => c.errorsUri);
      const errors = withErrors.length
        ? await this.storage.put(
            opts.backend,
            opts.errorsKey,
            concat(
              errorsAreCsv(input, outFormat) ? 'line,error,row\n' : '',
              withErrors.map((c) => c.errorsUri!),
            ),
            { maxBytes: MAX_PART_BYTES },
          )
        : null;
      const totals = chunkTotals(used);
      const workers = [...new Set(used.map((c) => c.scoredBy).filter((w): w is string => !!w))].sort();
      const finished = await this.repo.transition(jobId, ['running'], {
        status: 'succeeded',
        progress: 100,
        outputUri: out.uri,
        errorsUri: errors?.uri ?? null,
        finishedAt: new Date(),
        error: null,
        workers,
        storedBytes: addStoredBytes(out, errors),
        ...totals,
      });
      if (finished) {
        for (const { uri, err } of await this.storage.deleteAll(chunkFileUris(chunks)))
          this.log.error({ err, uri, jobId }, 'could not remove a chunk part');
        await this.repo.deleteChunks(jobId);
      }
      this.log.info({ jobId, model: job.modelName, workers, ...totals }, 'batch job finished');
      return { ...totals, outputUri: out.uri };
    } catch (e) {
      return failJob(this.repo, this.log, jobId, ctx, e);
    }
  }

  /** Parquet or Arrow output: the parts (Arrow IPC streams) as one file. */
  private async table(used: { partUri: string }[], format: 'parquet' | 'arrow', rowGroupRows: number) {
    const parts: Uint8Array[] = [];
    for (const c of used) {
      const bufs: Buffer[] = [];
      for await (const b of await this.storage.get(c.partUri)) bufs.push(b as Buffer);
      parts.push(Buffer.concat(bufs));
    }
    return Buffer.from(assembleTable(parts, format, rowGroupRows));
  }

  /** The input's header row, read from the start of the input file. */
  private async inputColumns(job: JobRow): Promise<string[]> {
    const input = await this.storage.get(job.inputUri!);
    const reader = new CsvRecordReader();
    try {
      for await (const c of input) {
        const records = reader.push((c as Buffer).toString('utf8'));
        if (records.length) return records[0]!.fields.map((f) => f.trim());
      }
      return reader.end()[0]?.fields.map((f) => f.trim()) ?? [];
    } finally {
      input.destroy();
    }
  }
}
