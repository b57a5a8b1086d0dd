import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readFlatColumn, type FlatType } from './parquet-columns.js';
import { TextBytes, writePlainParquet } from './parquet-plain.js';

const rows = 3000;
const ids = Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? `é${i}` : `r${i}`));
// Few distinct values: hyparquet-writer dictionary-encodes them.
const xs = Float32Array.from({ length: rows }, (_, i) => (i % 13) / 4);
const ys = Float64Array.from({ length: rows }, (_, i) => i / 7);

/** Each column as readFlatColumn reads it, beside what hyparquet reads, for every column of `file`. */
async function both(file: ArrayBuffer, types: Record<string, FlatType>) {
  const md = parquetMetadata(file);
  const ref = await parquetReadObjects({ file });
  return md.schema.slice(1).map((el) => ({
    name: el.name,
    fast: readFlatColumn(file, md, el, types[el.name]!, Number(md.num_rows), compressors),
    ref: ref.map((r) => r[el.name] as unknown),
  }));
}

const ab = (b: ArrayBuffer | Uint8Array) =>
  b instanceof ArrayBuffer ? b : (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);

describe('readFlatColumn (Parquet columns straight into typed arrays)', () => {
  it('reads what hyparquet reads: dictionary pages, snappy v2 pages, several row groups, required and optional', async () => {
    const file = ab(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: ids, type: 'STRING', nullable: false },
          { name: 'x', data: xs, type: 'FLOAT', nullable: false },
          // Optional, with no null: its definition levels say nothing.
          { name: 'y', data: ys, type: 'DOUBLE', nullable: true },
        ],
        rowGroupSize: 1000,
      }),
    );
    const cols = await both(file, { id: 'utf8', x: 'float32', y: 'float64' });
    for (const c of cols) {
      assert.ok(c.fast, `${c.name} is read by the fast path`);
      assert.deepEqual(Array.from(c.fast as ArrayLike<unknown>), c.ref, c.name);
    }
    assert.ok(cols[1]!.fast instanceof Float32Array);
  });

  it('reads the uncompressed PLAIN v1 pages the batch output is written in', async () => {
    const file = ab(
      writePlainParquet(
        [
          { name: 'id', type: 'utf8', values: ids },
          { name: 'x', type: 'float32', values: xs },
          { name: 'n', type: 'int64', values: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)) },
        ],
        1024,
      )!,
    );
    for (const c of await both(file, { id: 'utf8', x: 'float32', n: 'int64' }))
      assert.deepEqual(Array.from(c.fast as ArrayLike<unknown>), c.ref, c.name);
  });

  it('leaves a column with a null to hyparquet (null)', async () => {
    const file = ab(
      parquetWriteBuffer({
        columnData: [{ name: 'x', data: [1.5, null, 2.5], type: 'DOUBLE', nullable: true }],
      }),
    );
    const md = parquetMetadata(file);
    assert.equal(readFlatColumn(file, md, md.schema[1]!, 'float64', 3, compressors), null);
  });

  it('keeps a text column as its bytes when asked, plain or dictionary-encoded, value for value', async () => {
    const few = Array.from({ length: rows }, (_, i) => `c${i % 5}`);
    const file = ab(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: ids, type: 'STRING', nullable: false },
          { name: 'cls', data: few, type: 'STRING', nullable: false },
        ],
        rowGroupSize: 1000,
      }),
    );
    const md = parquetMetadata(file);
    for (const [k, want] of [
      [1, ids],
      [2, few],
    ] as const) {
      const got = readFlatColumn(file, md, md.schema[k]!, 'utf8', rows, compressors, true);
      assert.ok(got instanceof TextBytes);
      assert.deepEqual(got.toArray(), want);
    }
  });
});
