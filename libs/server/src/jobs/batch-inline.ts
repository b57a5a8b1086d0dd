import { hostname } from 'node:os';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import { InputError, type ServedVersion } from '../engine/index.js';
import { ServingService } from '../serving/serving.service.js';
import { ExplainService } from '../explain/explain.service.js';
import { StorageService } from '../storage/storage.service.js';
import type { StoredObject } from '../storage/storage-backend.js';
import { asJson } from '../db/json.js';
import type { TBatchFormat } from '@modelyard/contracts';
import { errorsAreCsv, type BatchOptions } from './batch-options.js';
import {
  framePart,
  frameCsv,
  FrameScorer,
  readArrow,
  readParquet,
  writeTableParts,
  type Frame,
} from './batch-frames.js';
import { BatchScorer, columnIndexes, type InputRow } from './batch-scorer.js';
import { ColumnarCsv } from './batch-columnar.js';
import { advanceRecords, bomLength } from './columnar-csv.js';
import { CsvRecordReader } from './csv-stream.js';
import { addStoredBytes, chunkTotals, JobsRepository, type JobRow } from './jobs.repository.js';
import { PredictionStore } from './prediction-store.js';
import { BatchPool, type OutputLease, type ScoredPart } from './batch-pool.js';
import { DEFAULT_CONTRIBUTIONS_MAX_ROWS, withRowBudget } from './batch-contributions.js';
import { PlainParquetFile, plainWritable, type PlainColumn } from './parquet-plain.js';

const WORKER_ID = `${hostname()}:${process.pid}`;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;
const pad = (i: number) => String(i).padStart(6, '0');

export type InlineJobOptions = BatchOptions & { chunkRows: number; chunkCount?: number; chunkEstimate?: number };

/** How long the last CSV input's buffer is kept for the next job. */
const SPARE_IDLE_MS = 10 * 60_000;

/** What one chunk left behind: its output part, its errors part, and the counts. */
interface ChunkResult {
  /** Several buffers when the pool's threads scored it in parts: written one after another, never joined. */
  output: Uint8Array | string | Uint8Array[];
  errors: string;
  rowsIn: number;
  rowsOut: number;
  rowsFailed: number;
}

/** A chunk as it is scored: its result, its index, and how far through the input it ends (0-99). */
interface Piece extends ChunkResult {
  index: number;
  progress: number;
}

/** `finished`: the job is succeeded already (its output written once); otherwise `batch.assemble` joins the parts. */
export interface InlineRun {
  chunks: number;
  cancelled: boolean;
  finished: boolean;
}

/** Milliseconds per step of a job, and other figures for its log line. */
type Timings = Record<string, number>;

/** Thrown into the output stream when the job was cancelled, so storage keeps nothing of it. */
class Cancelled extends Error {}

/**
 * "One worker holds the whole file" (issue 23): an input up to BATCH_INLINE_MAX_BYTES is read into memory once
 * and scored here chunk after chunk, with no input part files (the upload is the only copy) and no chunk jobs.
 * The output is written once, as the chunks are scored (writeOnce): a crash, a kill or a cancel leaves nothing,
 * and the next attempt starts over. A job with JobChunk rows from an earlier attempt of the part-file path keeps
 * that path: each chunk leaves its output part and a JobChunk row, and `batch.assemble` joins the parts.
 * A CSV chunk is parsed from bytes into the model's float buffer and its output written as bytes (ColumnarCsv);
 * a chunk that needs more care (quotes, a bad cell, the prediction store) takes the row path (BatchScorer).
 */
@Injectable()
export class BatchInlineService implements OnModuleDestroy {
  /** Threads that parse, score and format CSV chunks (BATCH_THREADS); null: the event loop does it all. */
  private readonly pool: BatchPool | null;
  /** BATCH_CONTRIBUTIONS_MAX_ROWS. */
  private readonly contributionsMaxRows: number;

  constructor(
    private readonly repo: JobsRepository,
    private readonly serving: ServingService,
    private readonly storage: StorageService,
    private readonly store: PredictionStore,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly explain: ExplainService,
    @Optional()
    @Inject(COMMON_CONFIG)
    cfg?: CommonConfig & { worker?: { batchThreads?: number; batchContributionsMaxRows?: number } },
  ) {
    // Without the worker's config (unit tests): no threads.
    const size = cfg?.worker?.batchThreads ?? 0;
    this.contributionsMaxRows = cfg?.worker?.batchContributionsMaxRows ?? DEFAULT_CONTRIBUTIONS_MAX_ROWS;
    this.pool = size > 0 ? new BatchPool(size, (sv) => this.serving.artifactBytes(sv)) : null;
  }

  async onModuleDestroy() {
    await this.pool?.close();
  }

  /** Scores every chunk not recorded yet; false when the job was cancelled meanwhile. */
  async run(job: JobRow, opts: InlineJobOptions): Promise<InlineRun> {
    const format = (job.format ?? 'csv') as TBatchFormat;
    const outFormat = opts.outputFormat ?? format;
    if (format === 'jsonl') throw new InputError('A JSON Lines input is not scored inline');
    // Where a job's time goes, for its log line (issue 23): from submit to here (queue pickup and the job's first
    // database writes), the version's resolve, the input's read; writeOnce adds the scoring and the output write.
    const timings: Timings = { pickupMs: Date.now() - job.submittedAt.getTime() };
    let mark = performance.now();
    const lap = () => {
      const now = performance.now();
      const ms = Math.round(now - mark);
      mark = now;
      return ms;
    };
    const served = await this.serving.resolve(job.modelName, { version: job.version! });
    timings.resolveMs = lap();
    // Contribution columns come from the feature columns the frame path holds as numbers. A contained version runs
    // only in its own process, not in the pool's threads, where a run cannot be stopped: the frame path runs it so.
    if (format !== 'csv' || outFormat !== 'csv' || opts.contributions || served.contained)
      return this.runFrame(job, opts, served, format, outFormat, timings, lap);
    // Every thread opens the version while the input is read, instead of the first chunks waiting for it.
    this.pool?.warm(served).catch(() => {}); // a thread that cannot open it fails its chunk, with the reason
    const { done, totals } = await this.recordedSoFar(job.id);
    timings.recordedMs = lap();
    // Scoring starts as soon as the first chunk's bytes are in: reading the file overlaps the first chunks' work.
    const input = await this.incoming(job.inputUri!, !!this.pool);
    // The threads' output buffers this job's parts are written into: theirs again once the output is stored.
    const lease = this.pool?.lease() ?? null;
    try {
      return await this.runCsv(job, opts, served, input, { done, totals }, timings, lease);
    } finally {
      input.stop();
      lease?.release();
    }
  }

  private async runCsv(
    job: JobRow,
    opts: InlineJobOptions,
    served: ServedVersion,
    input: Incoming,
    { done, totals }: Awaited<ReturnType<BatchInlineService['recordedSoFar']>>,
    timings: Timings,
    lease: OutputLease | null,
  ): Promise<InlineRun> {
    // The header: up to the end of the first record (the file's end for a header alone).
    let head = advanceRecords(input.view, bomLength(input.view), 1);
    while (!input.ended && head.end >= input.filled) {
      await input.more();
      head = advanceRecords(input.view, bomLength(input.view), 1);
    }
    const start = bomLength(input.view);
    if (head.records === 0) throw new InputError('The input file is empty: a CSV input needs a header row');
    const reader = new CsvRecordReader();
    const h = [...reader.push(input.view.toString('utf8', start, head.end)), ...reader.end()][0]!;
    if (h.error) throw new InputError(`The CSV header cannot be read: ${h.error}`);
    const columns = h.fields.map((f) => f.trim());
    const scoring = {
      format: 'csv' as const,
      columns: opts.columns,
      idColumn: opts.idColumn,
      entityColumn: opts.entityColumn,
    };
    // Refuses an id or entity column the input does not have before anything is scored.
    columnIndexes(columns, scoring);
    const rowScorer = new BatchScorer(served, columns, scoring);
    const fast = ColumnarCsv.for(served, columns, opts);
    const store = !!opts.entityColumn;
    // Row-path chunks run one at a time (BatchScorer is not shared between concurrent chunks).
    let rowTurn: Promise<unknown> = Promise.resolve();
    const rowPath = (text: string, line: number) => {
      const r = rowTurn.then(() => this.rowPath(job, served, rowScorer, text, line, store));
      rowTurn = r.catch(() => undefined);
      return r;
    };
    const pool = fast && this.pool && input.view.buffer instanceof SharedArrayBuffer ? this.pool : null;
    const scoreChunk = async (buf: Buffer, p: number, end: number, records: number, quotes: boolean, line: number) => {
      let fastOut: Uint8Array | Uint8Array[] | null = null;
      if (fast && !quotes)
        fastOut = pool ? await threaded(pool, buf, p, end, records) : await fast.score(buf, p, end, records);
      return fastOut
        ? { output: fastOut, errors: '', rowsIn: records, rowsOut: records, rowsFailed: 0 }
        : await rowPath(buf.toString('utf8', p, end), line);
    };
    // A chunk is split between the pool's threads (its parts written one after the other, never joined), so it is
    // done as soon as every core can do it and the writer starts on it early; null when a part needs the row path.
    // It is split by bytes, at a line break (it has no quotes, so every line break ends a record): the threads
    // count their records, and the event loop does not scan the chunk a second time.
    const threaded = async (pool: BatchPool, buf: Buffer, p: number, end: number, records: number) => {
      const parts: Promise<ScoredPart | null>[] = [];
      const step = Math.ceil((end - p) / pool.size);
      for (let from = p; from < end;) {
        const cut = from + step >= end ? end : buf.indexOf(10, from + step);
        const to = cut < 0 || cut >= end ? end : cut + 1;
        const part = { from: buf.byteOffset + from, end: buf.byteOffset + to };
        parts.push(pool.scoreCsv(served, buf.buffer as SharedArrayBuffer, part, { columns, opts }, lease!));
        from = to;
      }
      const outs = await Promise.all(parts);
      if (outs.some((o) => !o) || outs.reduce((n, o) => n + o!.rows, 0) !== records) return null;
      return outs.map((o) => o!.output);
    };
    // With the pool, the next chunk is already being scored while one is written; the output goes out in order.
    const ahead = pool ? 2 : 1;
    async function* pieces(): AsyncGenerator<Piece> {
      const inflight: { index: number; progress: number; result: Promise<ChunkResult> }[] = [];
      let p = head.end;
      let index = 0;
      let line = 1;
      try {
        for (;;) {
          while (inflight.length < ahead && !(input.ended && p >= input.filled)) {
            input.check();
            const buf = input.view;
            const { end, records, quotes } = advanceRecords(buf, p, opts.chunkRows);
            // A chunk is cut once its last record's line break is in (or the file has ended).
            if (!input.ended && !(records === opts.chunkRows && end < buf.length)) {
              // Whichever comes first: more of the file (this chunk can start, and the threads do not sit idle
              // until the oldest chunk is written) or the oldest chunk's lines (to write them).
              const oldest = inflight[0]?.result.then(
                () => false,
                () => false,
              );
              if (
                await (oldest ? Promise.race([input.more().then(() => true), oldest]) : input.more().then(() => true))
              )
                continue;
              break;
            }
            if (records === 0) {
              p = buf.length;
              continue;
            }
            if (!done.has(index)) {
              const result = scoreChunk(buf, p, end, records, quotes, line);
              // Seen when its turn comes; this only keeps a failure before then from being unhandled.
              result.catch(() => {});
              inflight.push({ index, progress: Math.min(99, (end / input.size) * 100), result });
            }
            line += records;
            p = end;
            index++;
          }
          const next = inflight.shift();
          if (!next) break;
          yield { ...(await next.result), index: next.index, progress: next.progress };
        }
      } finally {
        // Cancelled or failed mid-way: chunks still being scored are dropped when they come back.
        for (const c of inflight) c.result.catch(() => {});
      }
      input.check();
      chunkCount = index;
      timings.readMs = input.readMs;
    }
    let chunkCount = 0;
    if (!done.size) {
      const header = Buffer.from(rowScorer.header);
      timings.threads = pool?.size ?? 0;
      return this.writeOnce(job, opts, header, pieces(), () => ({ chunkCount }), errorsAreCsv('csv', 'csv'), {
        timings,
      });
    }
    const cancelledAfter = await this.recordParts(job, opts, pieces(), totals, 'csv', 'csv');
    if (cancelledAfter !== null) return { chunks: cancelledAfter + 1, cancelled: true, finished: false };
    await this.repo.update(job.id, { options: asJson({ ...opts, chunkCount }) });
    this.log.info({ jobId: job.id, chunks: chunkCount, fast: !!fast }, 'batch job scored inline');
    return { chunks: chunkCount, cancelled: false, finished: false };
  }

  /**
   * The output written once (issue 23): `pieces` are streamed into the output file as they are scored, bad rows
   * into the errors file beside it (opened at the first one), and the job is marked succeeded here, with no part
   * files and no `batch.assemble`. Storage writes are all-or-nothing, so a worker killed or a job cancelled
   * mid-way leaves no output at all, and the next attempt scores the input again from its start: every row once.
   * `tail` (a table output) is written after the last piece.
   */
  private async writeOnce(
    job: JobRow,
    opts: InlineJobOptions,
    head: Uint8Array,
    pieces: AsyncIterable<Piece>,
    extra: () => Record<string, unknown> & { chunkCount: number },
    csvErrors: boolean,
    more: { tail?: () => Uint8Array[]; timings?: Timings } = {},
  ): Promise<InlineRun> {
    const { tail, timings = {} } = more;
    const totals = { rowsIn: 0, rowsOut: 0, rowsFailed: 0 };
    // No SHA-256 of the output: nothing reads it, and hashing 60 MB cost more than the job's database writes.
    const put = (key: string, body: Readable) =>
      this.storage.put(opts.backend, key, body, { maxBytes: NO_LIMIT, sha256: false });
    const started = performance.now();
    let scoringMs = 0;
    let progressMs = 0;
    let tailMs = 0;
    let errors: { sink: PassThrough; stored: Promise<StoredObject> } | null = null;
    let failure: unknown = null;
    const repo = this.repo;
    let progress: Promise<boolean> | null = null;
    const progressLanded = async () => {
      const writing = performance.now();
      const landed = await progress;
      progressMs += performance.now() - writing;
      if (landed === false) throw new Cancelled();
    };
    async function* output(): AsyncGenerator<Uint8Array | string> {
      try {
        if (head.length) yield head;
        let asked = performance.now();
        for await (const piece of pieces) {
          scoringMs += performance.now() - asked;
          if (Array.isArray(piece.output)) yield* piece.output;
          else if (piece.output.length) yield piece.output;
          if (piece.rowsFailed) {
            if (!errors) {
              const sink = new PassThrough();
              errors = { sink, stored: put(opts.errorsKey, sink) };
              // Seen by the awaits below; this only keeps a failure before them from being unhandled.
              errors.stored.catch(() => {});
              if (csvErrors) sink.write('line,error,row\n');
            }
            if (!errors.sink.write(piece.errors)) await once(errors.sink, 'drain');
          }
          totals.rowsIn += piece.rowsIn;
          totals.rowsOut += piece.rowsOut;
          totals.rowsFailed += piece.rowsFailed;
          // The progress write is the cancellation check too: it only lands while the job is running. It goes on
          // while the next piece is asked for (the pool is given its next chunk then), and is checked before the
          // next one is written, and before the job's final status.
          await progressLanded();
          progress = repo.transition(job.id, ['running'], { progress: piece.progress, ...totals });
          progress.catch(() => {}); // seen by progressLanded
          asked = performance.now();
        }
        await progressLanded();
        if (tail) {
          const t = performance.now();
          const parts = tail();
          tailMs = performance.now() - t;
          for (const part of parts) yield part;
        }
      } catch (e) {
        failure ??= e;
        throw e;
      }
    }
    let out: StoredObject;
    let errorsOut: StoredObject | null = null;
    try {
      out = await put(opts.outputKey, Readable.from(output(), { objectMode: false }));
      const e = errors as { sink: PassThrough; stored: Promise<StoredObject> } | null;
      if (e) {
        e.sink.end();
        errorsOut = await e.stored;
      }
    } catch (err) {
      const e = errors as { sink: PassThrough; stored: Promise<StoredObject> } | null;
      if (e) {
        e.sink.destroy(new Error('the output could not be written'));
        await e.stored.catch(() => {});
      }
      // The storage layer reports a failed body as an interrupted upload: the body's own reason is the real one.
      const why = failure ?? err;
      if (why instanceof Cancelled) return { chunks: 0, cancelled: true, finished: false };
      throw why;
    }
    const { chunkCount, ...recorded } = extra();
    const closed = performance.now();
    const finished = await this.repo.transition(job.id, ['running'], {
      status: 'succeeded',
      progress: 100,
      outputUri: out.uri,
      errorsUri: errorsOut?.uri ?? null,
      finishedAt: new Date(),
      error: null,
      workers: [WORKER_ID],
      options: asJson({ ...opts, chunkCount, ...recorded }),
      storedBytes: addStoredBytes(out, errorsOut),
      ...totals,
    });
    if (!finished) {
      // Cancelled while the files were closing: they are not the job's output.
      for (const { uri, err } of await this.storage.deleteAll([out.uri, errorsOut?.uri]))
        this.log.error({ err, uri, jobId: job.id }, 'could not remove a cancelled job file');
      return { chunks: chunkCount, cancelled: true, finished: false };
    }
    // Where the time went: `ms` the whole output write (from the first chunk's start to the closed files), of which
    // `scoringMs` waiting for chunks to be scored (parse, run, format), `progressMs` the per-chunk progress writes;
    // `finishMs` the final status write. With the pool most scoring overlaps the write.
    const ms = Math.round(closed - started);
    this.log.info(
      {
        jobId: job.id,
        model: job.modelName,
        ...totals,
        chunks: chunkCount,
        ...timings,
        ms,
        scoringMs: Math.round(scoringMs),
        progressMs: Math.round(progressMs),
        ...(tail && { tailMs: Math.round(tailMs) }),
        finishMs: Math.round(performance.now() - closed),
      },
      'batch job finished',
    );
    return { chunks: chunkCount, cancelled: false, finished: true };
  }

  /**
   * A Parquet or Arrow input, or a table output: the input is read into columns (batch-frames.ts) and scored in
   * chunks of rows. Parts are CSV text for a CSV output, Arrow IPC streams for a Parquet or Arrow one.
   */
  private async runFrame(
    job: JobRow,
    opts: InlineJobOptions,
    served: ServedVersion,
    format: TBatchFormat,
    outFormat: TBatchFormat,
    timings: Timings,
    lap: () => number,
  ): Promise<InlineRun> {
    const { done, totals } = await this.recordedSoFar(job.id);
    timings.recordedMs = lap();
    const buf = await this.readAll(job.inputUri!);
    timings.readMs = lap();
    const isFeature = (name: string) => !!served.signature.inputs[0]?.columns?.includes(name);
    const need = (name: string) =>
      opts.columns === 'all' ||
      name === opts.idColumn ||
      name === opts.entityColumn ||
      !!served.signature.inputs[0]?.columns?.includes(name);
    const frame: Frame =
      format === 'parquet'
        ? await readParquet(
            buf,
            need,
            (name) => outFormat === 'parquet' && !isFeature(name) && name !== opts.entityColumn,
          )
        : format === 'arrow'
          ? readArrow(buf, need)
          : csvFrame(buf);
    timings.decodeMs = lap();
    const explain = opts.contributions ? withRowBudget(this.explainRows, this.contributionsMaxRows) : undefined;
    const scorer = new FrameScorer(served, frame, opts, explain);
    const inputColumns = frame.columns.map((c) => c.name);
    const chunks = Math.ceil(frame.rows / opts.chunkRows);
    const store = this.store;
    // A CSV output is written chunk by chunk. So is a Parquet one whose columns hold no null (all of the carried
    // columns are typed, or text with no null, and so is the first chunk's prediction): a row group per chunk,
    // written while the next is scored, and its footer at the end. Any other table output is written from the
    // chunks' columns at the end.
    const tables: Frame[] = [];
    const table = !done.size && outFormat !== 'csv';
    const carried = opts.columns === 'id' ? frame.columns.filter((c) => c.name === opts.idColumn) : frame.columns;
    let file = table && outFormat === 'parquet' && plainWritable(carried) ? new PlainParquetFile() : null;
    let groups = 0;
    async function* pieces(): AsyncGenerator<Piece> {
      for (let index = 0; index < chunks; index++) {
        if (done.has(index)) continue;
        const from = index * opts.chunkRows;
        const to = Math.min(frame.rows, from + opts.chunkRows);
        const scored = await scorer.score(from, to);
        if (opts.entityColumn) await store.write(job.modelName, served.version, job.id, scored.stored);
        const columns = scored.output.columns as PlainColumn[];
        if (file && !groups && scored.output.rows && !plainWritable(columns)) file = null;
        let output: ChunkResult['output'] = '';
        if (file && scored.output.rows) output = [...(groups++ ? [] : [PlainParquetFile.HEAD]), ...file.group(columns)];
        else if (table) tables.push(scored.output);
        else output = outFormat === 'csv' ? frameCsv(scored.output) : Buffer.from(framePart(scored.output));
        yield {
          output,
          errors: scored.errors,
          rowsIn: to - from,
          rowsOut: scored.rowsOut,
          rowsFailed: scored.rowsFailed,
          index,
          progress: Math.min(99, (to / frame.rows) * 100),
        };
      }
    }
    if (!done.size) {
      // The header as the assembler writes it (the output columns of BatchScorer for these input columns).
      const header =
        outFormat === 'csv'
          ? new BatchScorer(served, inputColumns, {
              format: 'csv',
              columns: opts.columns,
              idColumn: opts.idColumn,
              entityColumn: opts.entityColumn,
              contributions: opts.contributions,
            }).header
          : '';
      const r = await this.writeOnce(
        job,
        opts,
        Buffer.from(header),
        pieces(),
        () => ({ chunkCount: chunks, inputColumns }),
        errorsAreCsv(format, outFormat),
        {
          tail: table
            ? () =>
                file && groups ? file.end() : writeTableParts(tables, outFormat as 'parquet' | 'arrow', opts.chunkRows)
            : undefined,
          timings,
        },
      );
      return r;
    }
    const cancelledAfter = await this.recordParts(job, opts, pieces(), totals, format, outFormat);
    if (cancelledAfter !== null) return { chunks: cancelledAfter + 1, cancelled: true, finished: false };
    await this.repo.update(job.id, { options: asJson({ ...opts, chunkCount: chunks, inputColumns }) });
    this.log.info({ jobId: job.id, chunks, format, outFormat }, 'batch job scored inline');
    return { chunks, cancelled: false, finished: false };
  }

  private readonly explainRows = (sv: ServedVersion, x: Float32Array, n: number) => this.explain.explainBatch(sv, x, n);

  private async rowPath(
    job: JobRow,
    served: ServedVersion,
    scorer: BatchScorer,
    text: string,
    firstLine: number,
    store: boolean,
  ): Promise<ChunkResult> {
    const reader = new CsvRecordReader();
    const rows: InputRow[] = [...reader.push(text), ...reader.end()].map((csv, k) => ({ line: firstLine + k, csv }));
    const scored = await scorer.score(rows);
    if (store) await this.store.write(job.modelName, served.version, job.id, scored.stored);
    return {
      output: scored.output,
      errors: scored.errors,
      rowsIn: rows.length,
      rowsOut: scored.rowsOut,
      rowsFailed: scored.rowsFailed,
    };
  }

  /** The chunks an earlier attempt of the part-file path recorded (their indexes), and their counts. */
  private async recordedSoFar(jobId: string) {
    const recorded = await this.repo.chunks(jobId);
    return { done: new Set(recorded.map((c) => c.index)), totals: chunkTotals(recorded) };
  }

  /**
   * The part-file path: each piece left as its parts and JobChunk row, with the job's counts (added to `totals`)
   * and progress after each. The index of the piece after which the job was found cancelled, or null.
   */
  private async recordParts(
    job: JobRow,
    opts: InlineJobOptions,
    pieces: AsyncIterable<Piece>,
    totals: { rowsIn: number; rowsOut: number; rowsFailed: number },
    format: TBatchFormat,
    outFormat: TBatchFormat,
  ): Promise<number | null> {
    for await (const r of pieces) {
      await this.record(job, opts, r.index, r, format, outFormat);
      totals.rowsIn += r.rowsIn;
      totals.rowsOut += r.rowsOut;
      totals.rowsFailed += r.rowsFailed;
      await this.repo.transition(job.id, ['running'], { progress: r.progress, ...totals });
      if ((await this.repo.status(job.id)) === 'cancelled') return r.index;
    }
    return null;
  }

  private async record(
    job: JobRow,
    opts: InlineJobOptions,
    index: number,
    r: ChunkResult,
    format: TBatchFormat,
    outFormat: TBatchFormat,
  ) {
    // The assembler finds the input part beside the output part by name; inline jobs have none to delete.
    const put = (name: string, ext: string, body: ChunkResult['output']) =>
      this.storage.put(
        opts.backend,
        `${opts.partsPrefix}${name}-${pad(index)}.${ext}`,
        Readable.from(Array.isArray(body) ? body : [body]),
        {
          maxBytes: NO_LIMIT,
        },
      );
    const partUri = (await put('part', outFormat === 'csv' ? 'csv' : 'arrows', r.output)).uri;
    const errorsUri = r.rowsFailed
      ? (await put('errors', errorsAreCsv(format, outFormat) ? 'csv' : 'jsonl', r.errors)).uri
      : null;
    await this.repo.recordChunk({
      jobId: job.id,
      index,
      rowsIn: r.rowsIn,
      rowsOut: r.rowsOut,
      rowsFailed: r.rowsFailed,
      partUri,
      errorsUri,
      bytesEnd: 0n,
      scoredBy: WORKER_ID,
    });
  }

  /** The input, read in the background into one buffer as the job goes (see Incoming). */
  private async incoming(uri: string, shared: boolean): Promise<Incoming> {
    const size = (await this.storage.stat(uri))?.sizeBytes ?? 0;
    const input = new Incoming(size, shared);
    input.pump(await this.storage.get(uri, { readBytes: 4 * 1024 * 1024, into: input.buf }));
    return input;
  }

  /** The whole input in one buffer (its size is known, so one allocation). */
  private async readAll(uri: string): Promise<Buffer> {
    const size = (await this.storage.stat(uri))?.sizeBytes ?? 0;
    const alloc = (n: number) => Buffer.allocUnsafe(n);
    // Read in large pieces: 64 KiB reads made reading a 27 MB file cost as much as parsing it.
    let buf = alloc(size);
    const input = await this.storage.get(uri, { readBytes: 4 * 1024 * 1024, into: buf });
    let o = 0;
    for await (const c of input) {
      const b = c as Buffer;
      // A local file is read straight into the buffer (ReadOptions.into): nothing to copy.
      const inPlace = b.buffer === buf.buffer && b.byteOffset === buf.byteOffset + o;
      if (!inPlace && o + b.length > buf.length) {
        const bigger = alloc(Math.max(buf.length * 2, o + b.length));
        buf.copy(bigger, 0, 0, o);
        buf = bigger;
      }
      if (!inPlace) buf.set(b, o);
      o += b.length;
    }
    return buf.subarray(0, o);
  }
}

/**
 * The last CSV input buffer, kept for the next job (issue 23): on this VM a first touch of fresh memory costs ~2.7 ms
 * a MiB, ten times the read, and a 1M-row file is 27 MB. One is kept (the largest), for IDLE_MS after its job.
 */
const spareInput = new (class {
  private buf: Buffer | null = null;
  private timer: NodeJS.Timeout | null = null;

  take(size: number): Buffer | null {
    const b = this.buf;
    if (!b || b.length < size) return null;
    this.buf = null;
    return b.subarray(0, size);
  }

  give(buf: Buffer) {
    // The whole allocation, not only the view a smaller job had of it.
    const whole = Buffer.from(buf.buffer);
    if (this.buf && this.buf.length >= whole.length) return;
    this.buf = whole;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.buf = null), SPARE_IDLE_MS).unref();
  }
})();

/**
 * A CSV input as it is read: one buffer of the file's size (a SharedArrayBuffer when `shared`, which the pool's
 * threads read without a copy), filled in 4 MiB pieces in the background; `view` is what has arrived. A file that
 * grew since its size was taken moves to a larger buffer (chunks already cut keep the one they were cut from).
 */
class Incoming {
  buf: Buffer;
  filled = 0;
  ended = false;
  readMs = 0;
  private error: unknown = null;
  private wake: (() => void) | null = null;
  private stream: Readable | null = null;

  constructor(
    readonly size: number,
    private readonly shared: boolean,
  ) {
    this.buf = (shared && spareInput.take(size)) || this.alloc(size);
  }

  private alloc(n: number): Buffer {
    return this.shared ? Buffer.from(new SharedArrayBuffer(n)) : Buffer.allocUnsafe(n);
  }

  get view(): Buffer {
    return this.buf.subarray(0, this.filled);
  }

  pump(stream: Readable) {
    this.stream = stream;
    const started = performance.now();
    void (async () => {
      try {
        for await (const c of stream) {
          const b = c as Buffer;
          // A local file is read straight into the buffer (ReadOptions.into): nothing to copy.
          const inPlace = b.buffer === this.buf.buffer && b.byteOffset === this.buf.byteOffset + this.filled;
          if (!inPlace && this.filled + b.length > this.buf.length) {
            const bigger = this.alloc(Math.max(this.buf.length * 2, this.filled + b.length));
            this.buf.copy(bigger, 0, 0, this.filled);
            this.buf = bigger;
          }
          if (!inPlace) this.buf.set(b, this.filled);
          this.filled += b.length;
          this.signal();
        }
      } catch (e) {
        this.error = e;
      } finally {
        this.readMs = Math.round(performance.now() - started);
        this.ended = true;
        this.signal();
      }
    })();
  }

  /** Resolves when more of the file has arrived or it has ended; the read's error if it failed. */
  async more(): Promise<void> {
    if (!this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.error) throw this.error;
  }

  /** The read's error, if it failed: a job must not take a file cut short for the whole of it. */
  check() {
    if (this.error) throw this.error;
  }

  /**
   * The job is over (or failed): nothing more is read, and the buffer is kept for the next job. A chunk of this
   * job still in a thread may read it after the next job has begun to overwrite it: its answer is dropped (the job
   * it belonged to has stopped waiting for it).
   */
  stop() {
    this.stream?.destroy();
    if (this.shared && this.ended) spareInput.give(this.buf);
  }

  private signal() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

/**
 * A CSV input for a table output: every column as text, feature columns read as numbers by FrameScorer (a cell
 * that is not one sets its row aside). Records with a field too few leave the missing cells null.
 */
function csvFrame(buf: Buffer): Frame {
  const reader = new CsvRecordReader();
  const records = [...reader.push(buf.toString('utf8')), ...reader.end()];
  if (!records.length) throw new InputError('The input file is empty: a CSV input needs a header row');
  const names = records[0]!.fields.map((f) => f.trim());
  const rows = records.length - 1;
  const columns = names.map((name, c) => {
    const values = new Array<string | null>(rows);
    for (let r = 0; r < rows; r++) values[r] = records[r + 1]!.fields[c] ?? null;
    return { name, type: 'utf8' as const, values };
  });
  return { rows, columns };
}
