import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSession, type ServedVersion } from '../engine/index.js';
import { irisSignature, served } from '../serving/formats/formats.test-support.js';
import { ColumnarCsv } from './batch-columnar.js';
import { BatchPool } from './batch-pool.js';
import { advanceRecords } from './columnar-csv.js';

// Unit tests run from the repository root (npm test sets cwd).
const FIXTURE = path.resolve('test/fixtures/models/iris_logreg');
const samples = JSON.parse(readFileSync(path.join(FIXTURE, 'samples.json'), 'utf8')) as {
  feature_names: string[];
  records: Record<string, number>[];
};
const F = samples.feature_names;
const header = ['id', ...F];
const line = (i: number) => `r${i},${F.map((f) => samples.records[i % samples.records.length]![f]).join(',')}`;

/** `text` in a SharedArrayBuffer, as the worker reads a job's input for the pool. */
function shared(text: string): Buffer {
  const b = Buffer.from(new SharedArrayBuffer(Buffer.byteLength(text)));
  b.write(text);
  return b;
}

/** The file's records after the header cut into chunks of `rows`, as the inline path cuts them. */
function chunks(buf: Buffer, rows: number) {
  const out: { from: number; end: number; rows: number }[] = [];
  let p = advanceRecords(buf, 0, 1).end;
  while (p < buf.length) {
    const c = advanceRecords(buf, p, rows);
    if (!c.records) break;
    out.push({ from: p, end: c.end, rows: c.records });
    p = c.end;
  }
  return out;
}

describe('BatchPool (CSV chunks scored in threads, iris_logreg in onnxruntime)', () => {
  const bytes = readFileSync(path.join(FIXTURE, 'model.onnx'));
  let sv: ServedVersion;
  let reads = 0;
  const pool = new BatchPool(2, () => {
    reads++;
    return Promise.resolve(new Uint8Array(bytes));
  });
  before(async () => {
    const session = await createSession(bytes);
    sv = served(irisSignature(), { session, outputNames: ['label', 'probabilities'] });
  });
  after(() => pool.close());

  it('writes the same bytes as the event loop does, for every chunk, from two threads at once', async () => {
    const buf = shared(`${header.join(',')}\n${Array.from({ length: 1000 }, (_, i) => line(i)).join('\n')}\n`);
    const here = ColumnarCsv.for(sv, header, { columns: 'all' })!;
    const parts = chunks(buf, 137);
    const threaded = await Promise.all(
      parts.map((c) => pool.scoreCsv(sv, buf.buffer as SharedArrayBuffer, c, header, { columns: 'all' })),
    );
    for (let i = 0; i < parts.length; i++) {
      const c = parts[i]!;
      const mine = await here.score(buf, c.from, c.end, c.rows);
      assert.equal(threaded[i]!.toString(), mine!.toString(), `chunk ${i}`);
    }
    // Each thread opened the version once, from the bytes it was given.
    assert.equal(reads, 2);
    const ids = await pool.scoreCsv(sv, buf.buffer as SharedArrayBuffer, parts[0]!, header, {
      columns: 'id',
      idColumn: 'id',
    });
    assert.match(ids!.toString().split('\n')[0]!, /^r0,\d+,[\d.e-]+,[\d.e-]+,[\d.e-]+$/);
  });

  it('answers null for a chunk the row path must take (a blank feature cell)', async () => {
    const buf = shared(`${header.join(',')}\n${line(0)}\nr1,5.1,,1.4,0.2\n`);
    const [c] = chunks(buf, 10);
    assert.equal(await pool.scoreCsv(sv, buf.buffer as SharedArrayBuffer, c!, header, { columns: 'all' }), null);
  });

  it('fails the chunk with the reason when a thread cannot open the model', async () => {
    const broken = new BatchPool(1, () => Promise.resolve(new Uint8Array([1, 2, 3])));
    try {
      const buf = shared(`${header.join(',')}\n${line(0)}\n`);
      await assert.rejects(
        broken.scoreCsv(sv, buf.buffer as SharedArrayBuffer, chunks(buf, 10)[0]!, header, { columns: 'all' }),
        /the batch thread could not open the model/,
      );
    } finally {
      await broken.close();
    }
  });
});
