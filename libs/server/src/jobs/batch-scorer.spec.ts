import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSession, type ServedVersion } from '../engine/index.js';
import { irisSignature, served } from '../serving/formats/formats.test-support.js';
import { BatchScorer, jsonRow, type InputRow } from './batch-scorer.js';
import { CsvRecordReader } from './csv-stream.js';

const FIXTURE = path.resolve('test/fixtures/models/iris_logreg');
const samples = JSON.parse(readFileSync(path.join(FIXTURE, 'samples.json'), 'utf8')) as {
  feature_names: string[];
  records: Record<string, number>[];
  expected: { label: number[]; probabilities: number[][] };
  tolerance: { probabilities: number };
};

function csvRows(text: string): { header: string[]; rows: InputRow[] } {
  const r = new CsvRecordReader();
  const recs = [...r.push(text), ...r.end()];
  return { header: recs[0]!.fields, rows: recs.slice(1).map((csv, i) => ({ line: i + 1, csv })) };
}

describe('BatchScorer (iris_logreg in onnxruntime)', () => {
  let sv: ServedVersion;
  before(async () => {
    const session = await createSession(readFileSync(path.join(FIXTURE, 'model.onnx')));
    sv = served(irisSignature(), { session, outputNames: ['label', 'probabilities'] });
  });

  const F = () => samples.feature_names;
  const csvOf = (rows: string[]) => `id,${F().join(',')}\n${rows.join('\n')}\n`;
  const good = (i: number) =>
    `r${i},${F()
      .map((f) => samples.records[i]![f])
      .join(',')}`;

  it('answers what the fixture expects, with the input line and one probability column per class', async () => {
    const { header, rows } = csvRows(csvOf([0, 1, 2].map(good)));
    const s = new BatchScorer(sv, header, { format: 'csv', columns: 'all' });
    assert.equal(s.header, `id,${F().join(',')},prediction,probability_0,probability_1,probability_2\n`);
    const out = await s.score(rows);
    assert.deepEqual([out.rowsOut, out.rowsFailed, out.errors], [3, 0, '']);
    out.output
      .trimEnd()
      .split('\n')
      .forEach((line, i) => {
        const cells = line.split(',');
        assert.equal(cells.slice(0, 5).join(','), good(i));
        assert.equal(Number(cells[5]), samples.expected.label[i]);
        cells
          .slice(6)
          .map(Number)
          .forEach((p, k) =>
            assert.ok(Math.abs(p - samples.expected.probabilities[i]![k]!) <= samples.tolerance.probabilities),
          );
      });
  });

  it('sets bad rows aside with the reason, in line order, and scores the rest', async () => {
    const { header, rows } = csvRows(
      csvOf([good(0), 'r1,1,2', 'r2,,3.5,1.4,0.2', good(3), 'r4,0x10,1,1,1', 'r5,1e400,1,1,1', 'r6, ,1,1,1', good(7)]),
    );
    const out = await new BatchScorer(sv, header, { format: 'csv', columns: 'id', idColumn: 'id' }).score(rows);
    assert.deepEqual([out.rowsOut, out.rowsFailed], [3, 5]);
    assert.deepEqual(
      out.output
        .trimEnd()
        .split('\n')
        .map((l) => l.split(',')[0]),
      ['r0', 'r3', 'r7'],
    );
    const errs = out.errors.trimEnd().split('\n');
    assert.deepEqual(
      errs.map((e) => Number(e.split(',')[0])),
      [2, 3, 5, 6, 7],
    );
    assert.match(errs[0]!, /expected 5 fields, got 3/);
    assert.match(errs[1]!, /sepal_length"" is missing/);
    assert.match(errs[2]!, /sepal_length"" must be a finite number/);
    assert.match(errs[3]!, /must be a finite number/);
    assert.match(errs[4]!, /is missing/);
  });

  it('gives the same answers from JSON Lines, and the entity ids for the prediction store', async () => {
    const rows = [0, 1].map((i) => jsonRow(JSON.stringify({ id: `j${i}`, ...samples.records[i] }), i + 1));
    const out = await new BatchScorer(sv, [], { format: 'jsonl', columns: 'all', entityColumn: 'id' }).score([
      ...rows,
      jsonRow('[1,2]', 3),
    ]);
    const lines = out.output
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines[1].prediction, samples.expected.label[1]);
    assert.deepEqual(Object.keys(lines[1].probabilities), ['0', '1', '2']);
    assert.deepEqual(
      out.stored.map((s) => s.entityId),
      ['j0', 'j1'],
    );
    assert.match(out.errors, /"line":3,"error":"each line must be a JSON object of features"/);
  });

  it('refuses an id column the input does not have', () => {
    assert.throws(
      () => new BatchScorer(sv, ['a', 'b'], { format: 'csv', columns: 'id', idColumn: 'customer' }),
      /id column "customer" is not a column/,
    );
  });

  // A stand-in explainer (the real one is ExplainService, checked against the oracle in explain-batch.e2e): row r's
  // contribution of feature j to class o is x_j * (o + 1), its base o / 10.
  const fakeExplain = async (_sv: ServedVersion, x: Float32Array, n: number) =>
    Array.from({ length: n }, (_, r) => ({
      base: [0, 0.1, 0.2],
      contributions: Array.from({ length: 4 }, (_, j) => [0, 1, 2].map((o) => x[r * 4 + j]! * (o + 1))),
    }));
  const contributionHeader = [0, 1, 2].flatMap((o) => [...F().map((f) => `contribution_${f}_${o}`), `base_value_${o}`]);

  it('with contributions, CSV rows get a column per feature and class, then the base, after the rest', async () => {
    const { header, rows } = csvRows(csvOf([0, 1].map(good)));
    const s = new BatchScorer(
      sv,
      header,
      { format: 'csv', columns: 'id', idColumn: 'id', contributions: true },
      fakeExplain,
    );
    assert.equal(s.header, `id,prediction,probability_0,probability_1,probability_2,${contributionHeader.join(',')}\n`);
    const out = await s.score(rows);
    out.output
      .trimEnd()
      .split('\n')
      .forEach((line, i) => {
        const cells = line.split(',').slice(5).map(Number);
        assert.equal(cells.length, contributionHeader.length);
        [0, 1, 2].forEach((o) => {
          F().forEach((f, j) => assert.ok(Math.abs(cells[o * 5 + j]! - samples.records[i]![f]! * (o + 1)) < 1e-5));
          assert.ok(Math.abs(cells[o * 5 + 4]! - o / 10) < 1e-12);
        });
      });
  });

  it('with contributions, a JSON Lines row carries the same names as fields', async () => {
    const rows = [0].map((i) => jsonRow(JSON.stringify({ id: `j${i}`, ...samples.records[i] }), i + 1));
    const out = await new BatchScorer(
      sv,
      [],
      { format: 'jsonl', columns: 'all', contributions: true },
      fakeExplain,
    ).score(rows);
    const line = JSON.parse(out.output.trim()) as Record<string, number>;
    for (const name of contributionHeader) assert.equal(typeof line[name], 'number', name);
    assert.ok(Math.abs(line[`contribution_${F()[2]}_1`]! - samples.records[0]![F()[2]!]! * 2) < 1e-5);
  });
});
