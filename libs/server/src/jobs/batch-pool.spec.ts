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
const all = { columns: header, opts: { columns: 'all' as const } };
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
    const lease = pool.lease();
    const threaded = await Promise.all(
      parts.map((c) => pool.scoreCsv(sv, buf.buffer as SharedArrayBuffer, c, all, lease)),
    );
    for (let i = 0; i < parts.length; i++) {
      const c = parts[i]!;
      const mine = await here.score(buf, c.from, c.end, c.rows);
      assert.equal(Buffer.from(threaded[i]!.output).toString(), Buffer.from(mine!).toString(), `chunk ${i}`);
      assert.equal(threaded[i]!.rows, c.rows, `the thread counted chunk ${i}'s records`);
    }
    // Each thread opened the version once, from the bytes it was given.
    assert.equal(reads, 2);
    const ids = await pool.scoreCsv(
      sv,
      buf.buffer as SharedArrayBuffer,
      parts[0]!,
      { columns: header, opts: { columns: 'id', idColumn: 'id' } },
      lease,
    );
    assert.match(ids!.output.toString().split('\n')[0]!, /^r0,\d+,[\d.e-]+,[\d.e-]+,[\d.e-]+$/);
    lease.release();
  });

  it('does not write a part into an output buffer a job still holds, and reuses it once the job releases it', async () => {
    const one = new BatchPool(1, () => Promise.resolve(new Uint8Array(bytes)));
    try {
      const buf = shared(`${header.join(',')}\n${Array.from({ length: 3000 }, (_, i) => line(i)).join('\n')}\n`);
      const [a, b, c] = chunks(buf, 1000);
      const text = (p: { output: Buffer }) => p.output.toString();
      const first = one.lease();
      const x = (await one.scoreCsv(sv, buf.buffer as SharedArrayBuffer, a!, all, first))!;
      const before = text(x);
      const second = one.lease();
      const y = (await one.scoreCsv(sv, buf.buffer as SharedArrayBuffer, b!, all, second))!;
      // The first part's buffer is still held: the second went elsewhere, and the first part's lines are intact.
      assert.equal(text(x), before);
      assert.match(text(y), /^r1000,/);
      first.release();
      second.release();
      const z = (await one.scoreCsv(sv, buf.buffer as SharedArrayBuffer, c!, all, one.lease()))!;
      assert.match(text(z), /^r2000,/);
      // Written into one of the released buffers: its earlier lines were overwritten with the third part's.
      assert.ok(
        [x, y].some((p) => text(p).startsWith('r2000,')),
        'a released buffer is written again',
      );
    } finally {
      await one.close();
    }
  });

  it('answers null for a chunk the row path must take (a blank feature cell)', async () => {
    const buf = shared(`${header.join(',')}\n${line(0)}\nr1,5.1,,1.4,0.2\n`);
    const [c] = chunks(buf, 10);
    assert.equal(await pool.scoreCsv(sv, buf.buffer as SharedArrayBuffer, c!, all, pool.lease()), null);
  });

  it('fails the chunk with the reason when a thread cannot open the model', async () => {
    const broken = new BatchPool(1, () => Promise.resolve(new Uint8Array([1, 2, 3])));
    try {
      const buf = shared(`${header.join(',')}\n${line(0)}\n`);
      await assert.rejects(
        broken.scoreCsv(sv, buf.buffer as SharedArrayBuffer, chunks(buf, 10)[0]!, all, broken.lease()),
        /the batch thread could not open the model/,
      );
    } finally {
      await broken.close();
    }
  });
});
