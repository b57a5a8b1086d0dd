import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../platform/errors.js';
import { assembleTable, framePart, readArrow, readParquet, writeTable, type Frame } from './batch-frames.js';
import { TextBytes } from './parquet-plain.js';

const FIXTURES = path.resolve('test/fixtures/batch');
const all = () => true;

/** What the fixture files hold (test/fixtures/batch/README.md). */
function assertFixture(f: Frame) {
  assert.equal(f.rows, 100);
  assert.deepEqual(
    f.columns.map((c) => [c.name, c.type]),
    [
      ['id', 'utf8'],
      ['sepal_length', 'float32'],
      ['n', 'int64'],
      ['d', 'float64'],
      ['flag', 'bool'],
    ],
  );
  const at = (name: string, r: number) => (f.columns.find((c) => c.name === name)!.values as ArrayLike<unknown>)[r];
  assert.deepEqual(
    [at('id', 42), at('sepal_length', 42), Number(at('n', 42)), at('d', 42), at('flag', 42)],
    [`e42`, Math.fround(4.2), 42, 10.5, true],
  );
}

describe('batch-frames readers and writers', () => {
  it('reads the zstd Parquet and the Arrow IPC file (text as Utf8View) that polars writes', async () => {
    assertFixture(await readParquet(readFileSync(path.join(FIXTURES, 'polars-zstd.parquet')), all));
    assertFixture(readArrow(readFileSync(path.join(FIXTURES, 'polars.arrow')), all));
  });

  it('reads only the columns asked for', async () => {
    const f = await readParquet(readFileSync(path.join(FIXTURES, 'polars-zstd.parquet')), (n) => n === 'd');
    assert.deepEqual(
      f.columns.map((c) => c.name),
      ['d'],
    );
  });

  it('refuses a cut file with the reason, as a 400', async () => {
    const buf = readFileSync(path.join(FIXTURES, 'polars-zstd.parquet'));
    await assert.rejects(
      readParquet(buf.subarray(0, buf.length - 30), all),
      (e) => e instanceof AppError && e.status === 400 && /The Parquet file cannot be read/.test(e.message),
    );
    const arrow = readFileSync(path.join(FIXTURES, 'polars.arrow'));
    assert.throws(
      () => readArrow(arrow.subarray(0, 40), all),
      (e) => e instanceof AppError && /The Arrow IPC file cannot be read/.test(e.message),
    );
  });

  it('joins parts into one Parquet and one Arrow file that read back row for row', async () => {
    const part = framePart(readArrow(readFileSync(path.join(FIXTURES, 'polars.arrow')), all));
    const pq = assembleTable([part, part], 'parquet', 100);
    const back = await readParquet(pq, all);
    assert.equal(back.rows, 200);
    assert.equal((back.columns.find((c) => c.name === 'id')!.values as ArrayLike<unknown>)[142], 'e42');
    assert.equal(readArrow(assembleTable([part, part], 'arrow', 100), all).rows, 200);
  });

  it('writes chunks of columns straight into one Parquet and one Arrow file that read back as the input', async () => {
    const buf = readFileSync(path.join(FIXTURES, 'polars-zstd.parquet'));
    // The id column asked for as it came (UTF-8 bytes where hyparquet reads it; text where the flat reader does).
    const raw = await readParquet(buf, all, (n) => n === 'id');
    const slice = (f: Frame, from: number, to: number): Frame => ({
      rows: to - from,
      columns: f.columns.map((c) => ({
        ...c,
        values:
          c.values instanceof TextBytes ? c.values.slice(from, to) : Array.prototype.slice.call(c.values, from, to),
      })),
    });
    const back = await readParquet(writeTable([slice(raw, 0, 60), slice(raw, 60, 100)], 'parquet', 50), all);
    assertFixture(back);
    assert.equal((back.columns[0]!.values as ArrayLike<unknown>)[99], 'e99');
    const decoded = await readParquet(buf, all);
    assertFixture(readArrow(writeTable([slice(decoded, 0, 30), slice(decoded, 30, 100)], 'arrow', 50), all));
  });
});
