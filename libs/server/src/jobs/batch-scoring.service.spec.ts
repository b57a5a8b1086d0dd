import { before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { JobName, JobPayload } from '@modelyard/contracts';
import { createSession, type ServedVersion } from '../engine/index.js';
import { sharedModel } from '../onnx/onnx.test-support.js';
import { AppError } from '../platform/errors.js';
import type { JobContext } from '../queue/job-handler.js';
import type { JobProducer } from '../queue/job-producer.js';
import { irisSignature, served } from '../serving/formats/formats.test-support.js';
import type { ServingService } from '../serving/serving.service.js';
import { StorageService } from '../storage/storage.service.js';
import type { BatchOptions } from './batch-options.js';
import type { StoredRow } from './batch-scorer.js';
import { BatchAssembleService, BatchChunkService, BatchScoringService } from './batch-scoring.service.js';
import type { JobsRepository } from './jobs.repository.js';
import type { PredictionStore } from './prediction-store.js';

const JOB = '11111111-1111-4111-8111-111111111111';
const log = pino({ level: 'silent' });
const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const iris = sharedModel('iris_logreg');
const FEATURES = iris.samples.feature_names!;
const record = (i: number) => FEATURES.map((f) => iris.samples.records![i]![f]).join(',');

type Status = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
type Job = {
  id: string;
  status: Status;
  format: 'csv' | 'jsonl';
  modelName: string;
  version: number;
  inputUri: string;
  attempts: number;
  startedAt: Date | null;
  options: Record<string, unknown>;
  [column: string]: unknown;
};
type Chunk = {
  jobId: string;
  index: number;
  rowsIn: number;
  rowsOut: number;
  rowsFailed: number;
  partUri: string;
  errorsUri: string | null;
  scoredBy: string | null;
};

/**
 * One job and its chunks in memory, with the repository's semantics: `transition` only from the listed states,
 * `{ increment }` on a number column, `recordChunk` keeps the first record of an index.
 */
function fakeJobs(over: Partial<Job> = {}) {
  const job: Job = {
    id: JOB,
    status: 'queued',
    format: 'csv',
    modelName: 'iris',
    version: 1,
    inputUri: 'mem:///uploads/in.csv',
    attempts: 0,
    startedAt: null,
    options: { ...batchOptions() },
    ...over,
  };
  const chunks: Chunk[] = [];
  /** Runs before each `status` read: a spec changes the job under the service there (a cancel mid-way). */
  const hooks = { onStatus: () => {} };
  const apply = (data: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(data)) {
      const inc =
        v && typeof v === 'object' && 'increment' in v ? (v as { increment: number | bigint }).increment : null;
      if (inc === null) job[k] = v;
      else if (typeof inc === 'bigint') job[k] = BigInt((job[k] as bigint | undefined) ?? 0n) + inc;
      else job[k] = (job[k] as number) + inc;
    }
  };
  const repo = {
    find: async (id: string) => (id === job.id ? structuredClone(job) : null),
    status: async (id: string) => {
      hooks.onStatus();
      return id === job.id ? job.status : null;
    },
    transition: async (id: string, from: Status[], data: Record<string, unknown>) => {
      if (id !== job.id || !from.includes(job.status)) return false;
      apply(data);
      return true;
    },
    update: async (_id: string, data: Record<string, unknown>) => apply(data),
    chunks: async () => [...chunks].sort((a, b) => a.index - b.index),
    countChunks: async () => chunks.length,
    recordChunk: async (c: Chunk) => {
      if (!chunks.some((x) => x.index === c.index)) chunks.push(c);
    },
    chunkTotals: async () => ({
      chunks: chunks.length,
      rowsIn: chunks.reduce((s, c) => s + c.rowsIn, 0),
      rowsOut: chunks.reduce((s, c) => s + c.rowsOut, 0),
      rowsFailed: chunks.reduce((s, c) => s + c.rowsFailed, 0),
    }),
    deleteChunks: async () => void chunks.splice(0),
  } as unknown as JobsRepository;
  return { repo, job, chunks, hooks };
}

function batchOptions(over: Partial<BatchOptions> = {}): BatchOptions {
  return {
    columns: 'all',
    backend: 'local',
    outputKey: `out/${JOB}/predictions.csv`,
    errorsKey: `out/${JOB}/errors.csv`,
    partsPrefix: `jobs/${JOB}/parts/`,
    ...over,
  };
}

/** Objects by URI; `get` hands a file back in reads of `readBytes` bytes, so records and characters straddle them. */
function fakeStorage(readBytes = 7) {
  const files = new Map<string, Buffer>();
  const deleted: string[] = [];
  const failures = { get: null as Error | null };
  const storage = {
    put: async (_kind: string, key: string, body: Readable) => {
      const parts: Buffer[] = [];
      for await (const c of body) parts.push(Buffer.from(c as Buffer));
      const uri = `mem:///${key}`;
      files.set(uri, Buffer.concat(parts));
      return { uri, sizeBytes: files.get(uri)!.length };
    },
    get: async (uri: string) => {
      if (failures.get) throw failures.get;
      const b = files.get(uri);
      if (!b) throw new AppError('NOT_FOUND', `no object ${uri}`);
      const reads: Buffer[] = [];
      for (let i = 0; i < b.length; i += readBytes) reads.push(b.subarray(i, i + readBytes));
      return Readable.from(reads);
    },
    stat: async (uri: string) => (files.has(uri) ? { sizeBytes: files.get(uri)!.length } : null),
    delete: async (uri: string) => {
      deleted.push(uri);
      files.delete(uri);
    },
    // The real one, over this fake's delete.
    deleteAll: StorageService.prototype.deleteAll,
  } as unknown as StorageService;
  const text = (uri: string) => files.get(uri)?.toString('utf8');
  return { storage, files, deleted, failures, text };
}

function fakeProducer() {
  const queued: { name: JobName; payload: unknown; id: string | undefined }[] = [];
  const producer = {
    enqueue: async <N extends JobName>(name: N, payload: JobPayload<N>, opts: { jobId?: string } = {}) => {
      queued.push({ name, payload, id: opts.jobId });
    },
  } as unknown as JobProducer;
  return { producer, queued };
}

const ctx = (attempt = 1, maxAttempts = 3) => {
  const progress: number[] = [];
  const c: JobContext = { jobId: 'q', attempt, maxAttempts, updateProgress: async (p) => void progress.push(p) };
  return Object.assign(c, { progress });
};

describe(BatchScoringService.name, () => {
  let jobs: ReturnType<typeof fakeJobs>;
  let store: ReturnType<typeof fakeStorage>;
  let q: ReturnType<typeof fakeProducer>;
  const sut = (chunkRows = 2) =>
    new BatchScoringService(
      jobs.repo,
      store.storage,
      q.producer,
      { worker: { batchChunkRows: chunkRows } } as unknown as CommonConfig,
      log,
    );
  const input = (text: string, uri = 'mem:///uploads/in.csv') => store.files.set(uri, Buffer.from(text));
  beforeEach(() => {
    store = fakeStorage();
    q = fakeProducer();
  });

  it('cuts a CSV into chunks of the configured rows, each with the header, and queues one chunk job each', async () => {
    jobs = fakeJobs();
    input(`id,${FEATURES.join(',')}\n${[0, 1, 2, 3, 4].map((i) => `r${i},${record(i)}`).join('\n')}\n`);
    assert.deepEqual(await sut(2).handle({ jobId: JOB }, ctx()), { chunks: 3, queued: 3 });
    const header = `id,${FEATURES.join(',')}`;
    assert.deepEqual(
      [0, 1, 2].map((i) => store.text(`mem:///jobs/${JOB}/parts/input-00000${i}.csv`)),
      [
        `${header}\nr0,${record(0)}\nr1,${record(1)}\n`,
        `${header}\nr2,${record(2)}\nr3,${record(3)}\n`,
        `${header}\nr4,${record(4)}\n`,
      ],
    );
    assert.deepEqual(
      q.queued.map((x) => [x.name, x.payload, x.id]),
      [0, 1, 2].map((i) => [
        'batch.chunk',
        { jobId: JOB, index: i, firstLine: 1 + 2 * i, inputUri: `mem:///jobs/${JOB}/parts/input-00000${i}.csv` },
        `chunk-${JOB}-${i}-1`,
      ]),
    );
    assert.equal(jobs.job.status, 'running');
    assert.equal(jobs.job.attempts, 1);
    assert.ok(jobs.job.startedAt instanceof Date);
    // The chunk size is fixed on the job, so a retry on a worker configured otherwise cuts the same chunks.
    assert.deepEqual([jobs.job.options.chunkRows, jobs.job.options.chunkCount], [2, 3]);
  });

  it('keeps the chunk size fixed on the first attempt when a worker with another setting retries the job', async () => {
    jobs = fakeJobs({ status: 'running', attempts: 1, options: { ...batchOptions(), chunkRows: 3 } });
    input(`a\n1\n2\n3\n4\n`);
    assert.deepEqual(await sut(1).handle({ jobId: JOB }, ctx(2)), { chunks: 2, queued: 2 });
    assert.equal(store.text(`mem:///jobs/${JOB}/parts/input-000000.csv`), 'a\n1\n2\n3\n');
    assert.deepEqual(
      q.queued.map((x) => x.id),
      [`chunk-${JOB}-0-2`, `chunk-${JOB}-1-2`],
    );
  });

  it('counts a quoted line break as part of one record, and keeps characters cut between reads whole', async () => {
    jobs = fakeJobs();
    input('name,x\n"two\nlines",1\nzoë ünïcödé,2\nlast,3\n');
    await sut(2).handle({ jobId: JOB }, ctx());
    const first = store.text(`mem:///jobs/${JOB}/parts/input-000000.csv`);
    assert.equal(first, 'name,x\n"two\nlines",1\nzoë ünïcödé,2\n');
    assert.equal(store.text(`mem:///jobs/${JOB}/parts/input-000001.csv`), 'name,x\nlast,3\n');
    assert.deepEqual(
      q.queued.map((x) => (x.payload as { firstLine: number }).firstLine),
      [1, 3],
    );
  });

  it('cuts JSON Lines by line, without a header and without blank lines', async () => {
    jobs = fakeJobs({ format: 'jsonl', inputUri: 'mem:///uploads/in.jsonl' });
    input('{"a":1}\n\n{"a":2}\r\n{"a":3}', 'mem:///uploads/in.jsonl');
    assert.deepEqual(await sut(2).handle({ jobId: JOB }, ctx()), { chunks: 2, queued: 2 });
    assert.equal(store.text(`mem:///jobs/${JOB}/parts/input-000000.jsonl`), '{"a":1}\n{"a":2}\n');
    assert.equal(store.text(`mem:///jobs/${JOB}/parts/input-000001.jsonl`), '{"a":3}\n');
  });

  it('on a retry queues only the chunks not recorded yet, and the assembly at once when all of them are', async () => {
    jobs = fakeJobs({ status: 'running', attempts: 1 });
    input('a\n1\n2\n3\n4\n');
    const chunk = (index: number): Chunk => ({
      jobId: JOB,
      index,
      rowsIn: 2,
      rowsOut: 2,
      rowsFailed: 0,
      partUri: `mem:///p${index}`,
      errorsUri: null,
      scoredBy: 'w',
    });
    jobs.chunks.push(chunk(0));
    assert.deepEqual(await sut(2).handle({ jobId: JOB }, ctx(2)), { chunks: 2, queued: 1 });
    assert.deepEqual(
      q.queued.map((x) => [x.name, x.id]),
      [['batch.chunk', `chunk-${JOB}-1-2`]],
    );

    // Every chunk recorded, the assembly lost (the worker died after the last chunk): splitting again assembles.
    jobs.chunks.push(chunk(1));
    q.queued.length = 0;
    assert.deepEqual(await sut(2).handle({ jobId: JOB }, ctx(3)), { chunks: 2, queued: 0 });
    assert.deepEqual(
      q.queued.map((x) => [x.name, x.payload, x.id]),
      [['batch.assemble', { jobId: JOB }, `assemble-${JOB}-3`]],
    );
  });

  it('fails the job (400, naming the column) when the id column is not in the header; queues nothing', async () => {
    jobs = fakeJobs({ options: { ...batchOptions({ columns: 'id', idColumn: 'key' }) } });
    input(`id,${FEATURES.join(',')}\nr0,${record(0)}\n`);
    await assert.rejects(sut().handle({ jobId: JOB }, ctx(1, 3)), code('BAD_REQUEST'));
    assert.equal(jobs.job.status, 'failed');
    assert.match(String(jobs.job.error), /The id column "key" is not a column of the input/);
    assert.ok(jobs.job.finishedAt instanceof Date);
    assert.deepEqual(q.queued, []);
  });

  it('fails an empty CSV: it needs a header row', async () => {
    jobs = fakeJobs();
    input('');
    await assert.rejects(sut().handle({ jobId: JOB }, ctx()), code('BAD_REQUEST'));
    assert.equal(jobs.job.status, 'failed');
    assert.match(String(jobs.job.error), /empty: a CSV input needs a header row/);
  });

  it('keeps the job running after a storage error, and fails it on the last attempt without the details', async () => {
    jobs = fakeJobs();
    input('a\n1\n');
    store.failures.get = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:9000'), { code: 'ECONNREFUSED' });
    await assert.rejects(sut().handle({ jobId: JOB }, ctx(1, 2)), /ECONNREFUSED/);
    assert.deepEqual([jobs.job.status, jobs.job.error], ['running', undefined]);
    await assert.rejects(sut().handle({ jobId: JOB }, ctx(2, 2)), /ECONNREFUSED/);
    assert.equal(jobs.job.status, 'failed');
    assert.equal(
      jobs.job.error,
      'The job failed: an internal error (storage, database or network); the details are in the server log',
    );
  });

  it('skips a job that is cancelled, finished or gone, without reading its input', async () => {
    for (const status of ['cancelled', 'succeeded'] as const) {
      jobs = fakeJobs({ status });
      assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { skipped: status });
      assert.equal(jobs.job.attempts, 0);
    }
    assert.deepEqual(await sut().handle({ jobId: '22222222-2222-4222-8222-222222222222' }, ctx()), {
      skipped: 'missing',
    });
    assert.deepEqual(q.queued, []);
  });

  it('lets a cancel that lands between reading the job and starting it win', async () => {
    jobs = fakeJobs();
    input('a\n1\n');
    const repo = jobs.repo as unknown as { find: (id: string) => Promise<unknown> };
    const find = repo.find;
    repo.find = async (id) => {
      const j = await find(id);
      jobs.job.status = 'cancelled';
      return j;
    };
    assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { skipped: 'cancelled' });
    assert.deepEqual([jobs.job.status, jobs.job.attempts, q.queued], ['cancelled', 0, []]);
  });

  it('stops splitting at the next check after a cancel, keeping what was queued and no chunk count', async () => {
    jobs = fakeJobs();
    input(`a\n${Array.from({ length: 40 }, (_, i) => i).join('\n')}\n`);
    jobs.hooks.onStatus = () => {
      if (q.queued.length >= 3) jobs.job.status = 'cancelled';
    };
    assert.deepEqual(await sut(1).handle({ jobId: JOB }, ctx()), { cancelled: true });
    // The splitter looks every 8 chunks; until then, it records an estimate of the count for progress.
    assert.equal(q.queued.length, 8);
    assert.equal(jobs.job.options.chunkCount, undefined);
    assert.ok(Number(jobs.job.options.chunkEstimate) >= 8, String(jobs.job.options.chunkEstimate));
  });
});

describe(BatchChunkService.name, () => {
  let sv: ServedVersion;
  before(async () => {
    const session = await createSession(iris.bytes);
    sv = served(irisSignature(), { model: 'iris', version: 1, session });
  });
  let jobs: ReturnType<typeof fakeJobs>;
  let store: ReturnType<typeof fakeStorage>;
  let q: ReturnType<typeof fakeProducer>;
  let stored: { model: string; version: number; jobId: string; rows: StoredRow[] }[];
  let resolved: { model: string; version: number | undefined }[];
  const sut = () => {
    const serving = {
      resolve: async (model: string, sel: { version?: number }) => {
        resolved.push({ model, version: sel.version });
        return sv;
      },
    } as unknown as ServingService;
    const predictions = {
      write: async (model: string, version: number, jobId: string, rows: StoredRow[]) =>
        void stored.push({ model, version, jobId, rows }),
    } as unknown as PredictionStore;
    return new BatchChunkService(jobs.repo, serving, store.storage, predictions, q.producer, log);
  };
  const part = (index: number, rows: string[]) => {
    const uri = `mem:///jobs/${JOB}/parts/input-00000${index}.csv`;
    store.files.set(uri, Buffer.from(`id,${FEATURES.join(',')}\n${rows.join('\n')}\n`));
    return uri;
  };
  beforeEach(() => {
    store = fakeStorage(64);
    q = fakeProducer();
    stored = [];
    resolved = [];
  });

  it('scores a chunk with the job’s version, writes output and bad rows as parts, then records it', async () => {
    jobs = fakeJobs({ status: 'running', attempts: 1, options: { ...batchOptions(), chunkRows: 3 } });
    const inputUri = part(1, [`r3,${record(3)}`, 'r4,1,2', `r5,${record(5)}`]);
    const c = ctx();
    assert.deepEqual(await sut().handle({ jobId: JOB, index: 1, firstLine: 4, inputUri }, c), { rows: 3 });
    assert.deepEqual(resolved, [{ model: 'iris', version: 1 }]);
    const out = store.text(`mem:///jobs/${JOB}/parts/part-000001.csv`)!.trimEnd().split('\n');
    assert.deepEqual(
      out.map((l) => l.split(',').slice(0, 6).join(',')),
      [3, 5].map((i) => `r${i},${record(i)},${iris.samples.expected.label![i]}`),
    );
    // Line numbers count from the chunk's first line in the whole input.
    assert.match(store.text(`mem:///jobs/${JOB}/parts/errors-000001.csv`)!, /^5,.*expected 5 fields, got 3/);
    assert.deepEqual(jobs.chunks, [
      {
        jobId: JOB,
        index: 1,
        rowsIn: 3,
        rowsOut: 2,
        rowsFailed: 1,
        partUri: `mem:///jobs/${JOB}/parts/part-000001.csv`,
        errorsUri: `mem:///jobs/${JOB}/parts/errors-000001.csv`,
        bytesEnd: 0n,
        scoredBy: jobs.chunks[0]!.scoredBy,
      },
    ]);
    assert.match(String(jobs.chunks[0]!.scoredBy), /^.+:\d+$/);
    // One chunk of an unknown count: some progress, never 100 before the assembly.
    assert.deepEqual([jobs.job.rowsIn, jobs.job.rowsOut, jobs.job.rowsFailed], [3, 2, 1]);
    assert.ok(Number(jobs.job.progress) > 0 && Number(jobs.job.progress) < 100);
    assert.deepEqual(q.queued, []);
    assert.deepEqual(stored, []);
  });

  it('writes no errors part for a chunk without bad rows, and stores predictions by entity when asked', async () => {
    jobs = fakeJobs({ status: 'running', options: { ...batchOptions({ entityColumn: 'id' }), chunkRows: 2 } });
    const inputUri = part(0, [`r0,${record(0)}`, `r1,${record(1)}`]);
    await sut().handle({ jobId: JOB, index: 0, firstLine: 1, inputUri }, ctx());
    assert.equal(jobs.chunks[0]!.errorsUri, null);
    assert.equal(store.files.has(`mem:///jobs/${JOB}/parts/errors-000000.csv`), false);
    assert.deepEqual(
      stored.map((s) => [s.model, s.version, s.jobId, s.rows.map((r) => [r.entityId, r.prediction])]),
      [
        [
          'iris',
          1,
          JOB,
          [
            ['r0', iris.samples.expected.label![0]],
            ['r1', iris.samples.expected.label![1]],
          ],
        ],
      ],
    );
  });

  it('queues the assembly once the last of a known count of chunks is in, with progress below 100', async () => {
    jobs = fakeJobs({ status: 'running', attempts: 2, options: { ...batchOptions(), chunkRows: 2, chunkCount: 2 } });
    const first = part(0, [`r0,${record(0)}`, `r1,${record(1)}`]);
    const second = part(1, [`r2,${record(2)}`]);
    const c = ctx();
    await sut().handle({ jobId: JOB, index: 0, firstLine: 1, inputUri: first }, c);
    assert.equal(q.queued.length, 0);
    await sut().handle({ jobId: JOB, index: 1, firstLine: 3, inputUri: second }, c);
    assert.deepEqual(c.progress, [50, 99]);
    assert.deepEqual(
      q.queued.map((x) => [x.name, x.payload, x.id]),
      [['batch.assemble', { jobId: JOB }, `assemble-${JOB}-2`]],
    );
    assert.deepEqual([jobs.job.rowsIn, jobs.job.rowsOut, jobs.job.progress], [3, 3, 99]);
  });

  it('scores nothing for a job that is no longer running', async () => {
    jobs = fakeJobs({ status: 'cancelled' });
    const inputUri = part(0, [`r0,${record(0)}`]);
    assert.deepEqual(await sut().handle({ jobId: JOB, index: 0, firstLine: 1, inputUri }, ctx()), {
      skipped: 'cancelled',
    });
    assert.deepEqual([resolved, jobs.chunks, store.files.size], [[], [], 1]);
  });

  it('fails the job when its version can no longer be served (4xx), without recording the chunk', async () => {
    jobs = fakeJobs({ status: 'running' });
    const inputUri = part(0, [`r0,${record(0)}`]);
    const s = sut();
    (s as unknown as { serving: ServingService }).serving.resolve = async () => {
      throw new AppError('NOT_FOUND', 'Model iris has no version 1');
    };
    await assert.rejects(s.handle({ jobId: JOB, index: 0, firstLine: 1, inputUri }, ctx(1, 3)), code('NOT_FOUND'));
    assert.deepEqual([jobs.job.status, jobs.job.error, jobs.chunks], ['failed', 'Model iris has no version 1', []]);
  });
});

describe(BatchAssembleService.name, () => {
  let jobs: ReturnType<typeof fakeJobs>;
  let store: ReturnType<typeof fakeStorage>;
  const sut = () => {
    const serving = {
      resolve: async () => served(irisSignature(), { model: 'iris', version: 1 }),
    } as unknown as ServingService;
    return new BatchAssembleService(jobs.repo, serving, store.storage, log);
  };
  const HEADER = `id,${FEATURES.join(',')}`;
  /** A recorded chunk with its part files (and its input part, which the assembly removes too). */
  const recorded = (index: number, output: string, errors: string | null, scoredBy = 'w1:1') => {
    const p = (kind: string) => `mem:///jobs/${JOB}/parts/${kind}-00000${index}.csv`;
    store.files.set(p('input'), Buffer.from('x'));
    store.files.set(p('part'), Buffer.from(output));
    if (errors !== null) store.files.set(p('errors'), Buffer.from(errors));
    jobs.chunks.push({
      jobId: JOB,
      index,
      rowsIn: output.split('\n').length - 1 + (errors ? errors.split('\n').length - 1 : 0),
      rowsOut: output.split('\n').length - 1,
      rowsFailed: errors ? errors.split('\n').length - 1 : 0,
      partUri: p('part'),
      errorsUri: errors === null ? null : p('errors'),
      scoredBy,
    });
  };
  beforeEach(() => {
    store = fakeStorage(5);
  });

  it('joins the parts in chunk order under one header, sums the rows, counts the files and finishes the job', async () => {
    jobs = fakeJobs({ status: 'running', options: { ...batchOptions(), chunkCount: 3 } });
    store.files.set(jobs.job.inputUri, Buffer.from(`${HEADER}\nr0,${record(0)}\n`));
    recorded(2, 'c\n', null, 'w2:9');
    recorded(0, 'a1\na2\n', '1,bad,x\n', 'w1:1');
    recorded(1, 'b\n', '3,bad,y\n', 'w2:9');
    const r = await sut().handle({ jobId: JOB }, ctx());
    const outUri = `mem:///out/${JOB}/predictions.csv`;
    const errUri = `mem:///out/${JOB}/errors.csv`;
    assert.deepEqual(r, { rowsIn: 6, rowsOut: 4, rowsFailed: 2, outputUri: outUri });
    assert.equal(store.text(outUri), `${HEADER},prediction,probability_0,probability_1,probability_2\na1\na2\nb\nc\n`);
    assert.equal(store.text(errUri), 'line,error,row\n1,bad,x\n3,bad,y\n');
    assert.equal(jobs.job.status, 'succeeded');
    assert.deepEqual(
      [jobs.job.progress, jobs.job.outputUri, jobs.job.errorsUri, jobs.job.workers, jobs.job.error],
      [100, outUri, errUri, ['w1:1', 'w2:9'], null],
    );
    assert.deepEqual([jobs.job.rowsIn, jobs.job.rowsOut, jobs.job.rowsFailed], [6, 4, 2]);
    // The output and errors files count in the project's stored bytes (the parts, removed below, do not).
    assert.equal(jobs.job.storedBytes, BigInt(store.files.get(outUri)!.length + store.files.get(errUri)!.length));
    // Only the finished files are left: every part (input, output, errors) and chunk row is removed.
    assert.deepEqual([...store.files.keys()].sort(), [errUri, jobs.job.inputUri, outUri].sort());
    assert.equal(store.deleted.length, 8);
    assert.deepEqual(jobs.chunks, []);
  });

  it('writes no errors file when no chunk had bad rows', async () => {
    jobs = fakeJobs({ status: 'running', options: { ...batchOptions(), chunkCount: 1 } });
    store.files.set(jobs.job.inputUri, Buffer.from(`${HEADER}\n`));
    recorded(0, 'a\n', null);
    await sut().handle({ jobId: JOB }, ctx());
    assert.deepEqual([jobs.job.status, jobs.job.errorsUri], ['succeeded', null]);
    assert.equal(store.files.has(`mem:///out/${JOB}/errors.csv`), false);
  });

  it('waits while the chunk count is unknown or chunks are missing, and changes nothing', async () => {
    jobs = fakeJobs({ status: 'running', options: { ...batchOptions() } });
    recorded(0, 'a\n', null);
    assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { waiting: true });
    jobs.job.options = { ...batchOptions(), chunkCount: 2 };
    assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { waiting: true });
    assert.deepEqual([jobs.job.status, jobs.chunks.length, store.deleted], ['running', 1, []]);
  });

  it('leaves a job that was cancelled meanwhile cancelled, with its parts kept for a retry', async () => {
    jobs = fakeJobs({ status: 'running', options: { ...batchOptions(), chunkCount: 1 } });
    store.files.set(jobs.job.inputUri, Buffer.from(`${HEADER}\n`));
    recorded(0, 'a\n', null);
    const repo = jobs.repo as unknown as { chunks: (id: string) => Promise<Chunk[]> };
    const chunks = repo.chunks;
    repo.chunks = async (id) => {
      jobs.job.status = 'cancelled';
      return chunks(id);
    };
    await sut().handle({ jobId: JOB }, ctx());
    assert.deepEqual([jobs.job.status, jobs.chunks.length, store.deleted], ['cancelled', 1, []]);
  });
});
