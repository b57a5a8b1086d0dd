import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSession, type ServedVersion } from '../engine/index.js';
import { irisSignature, served } from '../serving/formats/formats.test-support.js';
import { BatchScorer, type InputRow } from './batch-scorer.js';
import { ColumnarCsv } from './batch-columnar.js';
import { advanceRecords, shortestFloat32, writeFloat32 } from './columnar-csv.js';
import { CsvRecordReader } from './csv-stream.js';

const FIXTURE = path.resolve('test/fixtures/models/iris_logreg');
const samples = JSON.parse(readFileSync(path.join(FIXTURE, 'samples.json'), 'utf8')) as {
  feature_names: string[];
  records: Record<string, number>[];
};
const F = samples.feature_names;

/** What the row path (BatchScorer) writes for the same text: the columnar path must write the same bytes. */
async function rowPath(sv: ServedVersion, text: string, opts: { columns: 'all' | 'id'; idColumn?: string }) {
  const r = new CsvRecordReader();
  const recs = [...r.push(text), ...r.end()];
  const rows: InputRow[] = recs.slice(1).map((csv, i) => ({ line: i + 1, csv }));
  return (await new BatchScorer(sv, recs[0]!.fields, { format: 'csv', ...opts }).score(rows)).output;
}

describe('ColumnarCsv (iris_logreg in onnxruntime)', () => {
  let sv: ServedVersion;
  before(async () => {
    const session = await createSession(readFileSync(path.join(FIXTURE, 'model.onnx')));
    sv = served(irisSignature(), { session, outputNames: ['label', 'probabilities'] });
  });

  const header = `id,${F.join(',')}`;
  const line = (i: number) => `r${i},${F.map((f) => samples.records[i % samples.records.length]![f]).join(',')}`;
  const score = async (text: string, opts: { columns: 'all' | 'id'; idColumn?: string } = { columns: 'all' }) => {
    const buf = Buffer.from(text);
    const head = advanceRecords(buf, 0, 1);
    const body = advanceRecords(buf, head.end, 1_000_000);
    const fast = ColumnarCsv.for(sv, header.split(','), opts)!;
    return { out: await fast.score(buf, head.end, body.end, body.records), quotes: body.quotes };
  };

  it('writes the same lines as the row path, byte for byte, for all columns and for the id column', async () => {
    const text = `${header}\n${Array.from({ length: 50 }, (_, i) => line(i)).join('\n')}\n`;
    assert.equal((await score(text)).out!.toString(), await rowPath(sv, text, { columns: 'all' }));
    assert.equal(
      (await score(text, { columns: 'id', idColumn: 'id' })).out!.toString(),
      await rowPath(sv, text, { columns: 'id', idColumn: 'id' }),
    );
  });

  it('reads CRLF line ends, blank lines, signs, exponents and a last line without a line break', async () => {
    const text = `${header}\r\nx1,5.1,+3.5,1.4e0,0.2\r\n\r\nx2,-1,.5,14E-1,2.\r\nx3,5,3,1,0`;
    const out = (await score(text)).out!.toString().split('\n');
    assert.deepEqual(
      out.map((l) => l.split(',').slice(0, 5).join(',')),
      ['x1,5.1,+3.5,1.4e0,0.2', 'x2,-1,.5,14E-1,2.', 'x3,5,3,1,0', ''],
    );
  });

  it('gives a chunk back to the row path for a blank cell, a word, a wrong field count or a quote', async () => {
    for (const bad of ['x,5.1,,1.4,0.2', 'x,5.1,abc,1.4,0.2', 'x,5.1,3.5,1.4', 'x,5.1,3.5,1.4,0.2,9', 'x,0x10,1,1,1']) {
      assert.equal((await score(`${header}\n${line(0)}\n${bad}\n`)).out, null, bad);
    }
    assert.equal((await score(`${header}\n"a,b",5.1,3.5,1.4,0.2\n`)).quotes, true);
  });

  it('counts records as the row reader does: quoted line breaks inside a record, blank lines skipped', () => {
    const buf = Buffer.from('a,b\n"x\ny",1\n\n"q""\n",2\nz,3\n');
    const head = advanceRecords(buf, 0, 1);
    const two = advanceRecords(buf, head.end, 2);
    assert.deepEqual([two.records, buf.toString('utf8', head.end, two.end)], [2, '"x\ny",1\n\n"q""\n",2\n']);
    assert.equal(advanceRecords(buf, two.end, 10).records, 1);
  });
});

describe('writeFloat32', () => {
  const text = (v: number) => {
    const out = new Uint8Array(32);
    return Buffer.from(out.subarray(0, writeFloat32(out, 0, v))).toString();
  };

  it('writes the shortest decimal that reads back as the same float32', () => {
    const values = [
      0.1, 0.5, 1, 0.333333, 1e-4, 0.00012345, 123456.7, 9999999, 1e-9, 3e10, -0.75, 0.98765432, 1e-15, 9.99e-5,
    ];
    for (let i = 0; i < 20_000; i++) values.push(Math.fround(Math.random() * 10 ** -(5 + (i % 12))));
    for (let i = 0; i < 20_000; i++)
      values.push(Math.fround(Math.random() ** 3), Math.fround((Math.random() - 0.5) * 1e6));
    for (const raw of values) {
      const v = Math.fround(raw);
      const s = text(v);
      assert.equal(Math.fround(Number(s)), v, `${v} written as ${s}`);
      assert.ok(s.length <= shortestFloat32(v).length + 1, `${s} is longer than ${shortestFloat32(v)}`);
    }
    assert.deepEqual(
      [0, 0.5, 0.1, -2].map((v) => text(Math.fround(v))),
      ['0', '0.5', '0.1', '-2'],
    );
  });

  it('writes the same number as the fewest digits of toPrecision that read back (every power of two, random floats)', () => {
    const bits = new Int32Array(1);
    const f32 = new Float32Array(bits.buffer);
    const fromBits = (b: number) => {
      bits[0] = b;
      return f32[0]!;
    };
    const values: number[] = [];
    // Powers of two (their interval is lopsided) and their neighbours, over the range written without toPrecision.
    for (let e = 77; e <= 150; e++) for (const frac of [0, 1, 0x7fffff]) values.push(fromBits((e << 23) | frac));
    for (let i = 0; i < 50_000; i++) values.push(fromBits((77 << 23) + Math.floor(Math.random() * (74 << 23))));
    for (const v of values) {
      let p = 1;
      while (Math.fround(Number(v.toPrecision(p))) !== v) p++;
      assert.equal(
        Number(text(v)),
        Number(v.toPrecision(p)),
        `${v}: ${text(v)}, toPrecision(${p}) ${v.toPrecision(p)}`,
      );
    }
  });
});
