import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import { createSession, type ServedVersion } from '../engine/index.js';
import type { ExplainService } from '../explain/explain.service.js';
import { irisSignature, served } from '../serving/formats/formats.test-support.js';
import type { ServingService } from '../serving/serving.service.js';
import type { StorageService } from '../storage/storage.service.js';
import { BatchInlineService } from './batch-inline.js';
import type { JobRow, JobsRepository } from './jobs.repository.js';
import type { PredictionStore } from './prediction-store.js';

// Unit tests run from the repository root (npm test sets cwd).
const FIXTURE = path.resolve('test/fixtures/models/iris_logreg');
const samples = JSON.parse(readFileSync(path.join(FIXTURE, 'samples.json'), 'utf8')) as {
  feature_names: string[];
  records: Record<string, number>[];
};
const F = samples.feature_names;
const line = (i: number) => `r${i},${F.map((f) => samples.records[i % samples.records.length]![f]).join(',')}`;

/**
 * The input arrives in small pieces (as a slow disk or a network store gives it), read into the caller's buffer
 * when it gives one and `into` is set (as a local file is); the output is kept in memory.
 */
function memoryStorage(input: Buffer, piece: number, into = false, seen: string[] = []) {
  const files = new Map<string, string>();
  const bytes = new Map<string, Buffer>();
  const storage = {
    stat: async () => ({ sizeBytes: input.length }),
    get: async (_uri: string, opts?: { into?: Uint8Array }) =>
      Readable.from(
        (function* () {
          for (let o = 0; o < input.length; o += piece) {
            const bytes = input.subarray(o, o + piece);
            if (!into || !opts?.into || o + bytes.length > opts.into.length) yield bytes;
            else {
              opts.into.set(bytes, o);
              yield opts.into.subarray(o, o + bytes.length);
            }
          }
        })(),
      ),
    put: async (_backend: string, key: string, body: Readable) => {
      const parts: Buffer[] = [];
      for await (const c of body) {
        parts.push(Buffer.from(c as Uint8Array));
        seen.push(`${key}: ${(c as Uint8Array).length} bytes`);
      }
      bytes.set(key, Buffer.concat(parts));
      files.set(key, bytes.get(key)!.toString());
      return { uri: `mem:///${key}`, sizeBytes: 0, sha256: '' };
    },
  };
  return { storage: storage as unknown as StorageService, files, bytes };
}

describe('BatchInlineService (a CSV job scored from memory, on the pool threads)', () => {
  const bytes = readFileSync(path.join(FIXTURE, 'model.onnx'));
  let sv: ServedVersion;
  const services: BatchInlineService[] = [];
  before(async () => {
    const session = await createSession(bytes);
    sv = served(irisSignature(), { session, outputNames: ['label', 'probabilities'] });
  });
  after(() => Promise.all(services.map((s) => s.onModuleDestroy())));

  /** Scores `text` with `threads` pool threads, the input read `piece` bytes at a time; the job's output file. */
  async function score(
    text: string | Buffer,
    threads: number,
    piece: number,
    into = false,
    table?: { format: 'parquet'; chunkRows: number },
  ) {
    // What happened in order: output bytes arriving, progress writes.
    const seen: string[] = [];
    const { storage, files, bytes: stored } = memoryStorage(Buffer.from(text), piece, into, seen);
    const updates: Record<string, unknown>[] = [];
    const repo = {
      chunks: async () => [],
      transition: async (_id: string, _from: string[], data: Record<string, unknown>) => {
        updates.push(data);
        seen.push(`status ${String(data.status ?? 'running')} ${String(data.progress)}`);
        return true;
      },
    } as unknown as JobsRepository;
    const serving = { resolve: async () => sv, artifactBytes: async () => bytes } as unknown as ServingService;
    const cfg = { worker: { batchThreads: threads } } as unknown as CommonConfig;
    const service = new BatchInlineService(
      repo,
      serving,
      storage,
      {} as PredictionStore,
      pino({ level: 'silent' }),
      {} as ExplainService,
      cfg,
    );
    services.push(service);
    const job = { id: 'j', modelName: 'iris', version: 1, format: table?.format ?? 'csv', inputUri: 'mem:///in' };
    const run = await service.run(
      { ...job, submittedAt: new Date() } as unknown as JobRow,
      {
        columns: 'all',
        backend: 'local',
        outputKey: 'out.csv',
        errorsKey: 'errors.csv',
        partsPrefix: 'parts/',
        chunkRows: table?.chunkRows ?? 700,
      } as Parameters<BatchInlineService['run']>[1],
    );
    return { run, files, stored, seen, last: updates.at(-1)! };
  }

  it('writes every row once, in order, whatever the threads and however the input arrives', async () => {
    // 5000 rows in chunks of 700: chunk boundaries fall inside the input's pieces; one chunk has a quoted field and
    // another a bad row, which take the row path on the event loop between chunks scored in threads.
    const rows = Array.from({ length: 5000 }, (_, i) =>
      i === 1500 ? `"r${i}",${line(i).split(',').slice(1).join(',')}` : i === 3200 ? `r${i},1,2,oops,4` : line(i),
    );
    const text = `id,${F.join(',')}\n${rows.join('\n')}\n`;
    const alone = await score(text, 0, 1 << 22);
    const threaded = await score(text, 2, 4099);
    assert.equal(threaded.run.finished, true);
    assert.equal(threaded.files.get('out.csv'), alone.files.get('out.csv'));
    assert.equal(threaded.files.get('errors.csv'), alone.files.get('errors.csv'));
    assert.match(threaded.files.get('errors.csv')!, /^line,error,row\n3201,/);
    const out = threaded.files.get('out.csv')!.trimEnd().split('\n');
    assert.equal(out.length, 1 + 4999);
    assert.deepEqual(
      out.slice(1, 4).map((l) => l.split(',')[0]),
      ['r0', 'r1', 'r2'],
    );
    assert.equal(out.at(-1)!.split(',')[0], 'r4999');
    assert.deepEqual([threaded.last.rowsIn, threaded.last.rowsOut, threaded.last.rowsFailed], [5000, 4999, 1]);
    assert.equal(threaded.last.status, 'succeeded');
  });

  it('scores a smaller file after a larger one from its own bytes only (the input buffer is kept and reused)', async () => {
    const csv = (from: number, n: number) =>
      `id,${F.join(',')}\n${Array.from({ length: n }, (_, i) => line(from + i)).join('\n')}\n`;
    const big = csv(0, 3000);
    const small = csv(7, 1000);
    const expected = (await score(small, 0, 1 << 22)).files.get('out.csv')!;
    for (const into of [true, false]) {
      await score(big, 2, 1 << 16, into);
      const after = await score(small, 2, 1 << 16, into);
      assert.equal(after.files.get('out.csv'), expected, into ? 'read into the kept buffer' : 'copied into it');
      assert.equal(after.last.rowsIn, 1000);
    }
  });

  it('writes a Parquet output a row group per chunk as they are scored, none for a chunk whose rows were all set aside', async () => {
    const n = 2000;
    const feats = F.map((f) =>
      Float32Array.from({ length: n }, (_, i) =>
        // Rows 700-1399 (the second chunk of 700) have no usable first feature.
        f === F[0] && i >= 700 && i < 1400 ? NaN : samples.records[i % samples.records.length]![f]!,
      ),
    );
    const ids = Array.from({ length: n }, (_, i) => `r${i}`);
    const input = Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: ids, type: 'STRING', nullable: false },
          ...F.map((name, c) => ({ name, data: feats[c]!, type: 'FLOAT' as const, nullable: false })),
        ],
      }),
    );
    const { run, stored, seen, last } = await score(input, 2, 1 << 16, true, { format: 'parquet', chunkRows: 700 });
    assert.equal(run.finished, true);
    assert.deepEqual([last.rowsIn, last.rowsOut, last.rowsFailed], [n, n - 700, 700]);
    const out = stored.get('out.csv')!;
    const file = out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) as ArrayBuffer;
    assert.equal(parquetMetadata(file).row_groups.length, 2);
    // The first row group was in the output before the last chunk's progress write (not all of it at the end).
    const firstGroup = seen.findIndex((e) => e.startsWith('out.csv') && !e.endsWith(': 4 bytes'));
    const lastProgress = seen.findLastIndex((e) => e.startsWith('status running'));
    assert.ok(firstGroup >= 0 && firstGroup < lastProgress, seen.join('\n'));
    const rows = (await parquetReadObjects({ file })) as Record<string, unknown>[];
    assert.deepEqual(
      rows.map((r) => r.id),
      ids.filter((_, i) => i < 700 || i >= 1400),
    );
    assert.deepEqual(Object.keys(rows[0]!), [
      'id',
      ...F,
      'prediction',
      'probability_0',
      'probability_1',
      'probability_2',
    ]);
  });
});
