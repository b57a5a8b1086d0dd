import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { writePlainParquet, writePlainParquetGroups, type PlainColumn } from './parquet-plain.js';

const asArrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

describe('writePlainParquet (flat columns, PLAIN pages)', () => {
  const rows = 1001;
  const columns: PlainColumn[] = [
    { name: 'id', type: 'utf8', values: Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? `é-${i}` : `r${i}`)) },
    { name: 'raw', type: 'utf8', values: Array.from({ length: rows }, (_, i) => Buffer.from(`b${i}`)) },
    { name: 'x', type: 'float32', values: Float32Array.from({ length: rows }, (_, i) => i / 3) },
    { name: 'y', type: 'float64', values: Float64Array.from({ length: rows }, (_, i) => i / 7) },
    { name: 'n', type: 'int32', values: Int32Array.from({ length: rows }, (_, i) => i - 500) },
    { name: 'prediction', type: 'int64', values: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i % 3)) },
  ];

  it('writes a file hyparquet reads back value for value, a row group per the given rows', async () => {
    const file = writePlainParquet(columns, 400)!;
    assert.ok(file);
    const md = parquetMetadata(asArrayBuffer(file));
    assert.equal(Number(md.num_rows), rows);
    assert.deepEqual(
      md.row_groups.map((g) => Number(g.num_rows)),
      [400, 400, 201],
    );
    const back = await parquetReadObjects({ file: asArrayBuffer(file) });
    assert.equal(back.length, rows);
    for (const r of [0, 7, 399, 400, 1000]) {
      const row = back[r]!;
      assert.equal(row.id, (columns[0]!.values as string[])[r]);
      assert.equal(row.raw, `b${r}`);
      assert.equal(row.x, Math.fround(r / 3));
      assert.equal(row.y, r / 7);
      assert.equal(row.n, r - 500);
      assert.equal(row.prediction, BigInt(r % 3));
    }
  });

  it('leaves what it does not write to the caller: a column with nulls, booleans, no rows', () => {
    assert.equal(writePlainParquet([{ name: 'id', type: 'utf8', values: ['a', null as unknown as string] }], 10), null);
    assert.equal(writePlainParquet([{ name: 'b', type: 'bool', values: [true] } as unknown as PlainColumn], 10), null);
    assert.equal(writePlainParquet([{ name: 'x', type: 'float32', values: new Float32Array(0) }], 10), null);
  });

  it('writes chunks of columns as a row group each, in pieces that make one file; chunks that differ are refused', async () => {
    const chunk = (from: number, n: number): PlainColumn[] => [
      { name: 'id', type: 'utf8', values: Array.from({ length: n }, (_, i) => `r${from + i}`) },
      { name: 'p', type: 'float32', values: Float32Array.from({ length: n }, (_, i) => (from + i) / 8) },
    ];
    const parts = writePlainParquetGroups([chunk(0, 300), chunk(300, 0), chunk(300, 120)])!;
    const file = Buffer.concat(parts);
    assert.deepEqual(
      parquetMetadata(asArrayBuffer(file)).row_groups.map((g) => Number(g.num_rows)),
      [300, 120],
    );
    const back = await parquetReadObjects({ file: asArrayBuffer(file) });
    assert.deepEqual(back[419], { id: 'r419', p: 419 / 8 });
    const other: PlainColumn[] = [{ name: 'id', type: 'utf8', values: ['x'] }];
    assert.equal(writePlainParquetGroups([chunk(0, 3), other]), null);
  });
});
