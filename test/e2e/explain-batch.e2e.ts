import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { e2eEnv, http } from '@modelyard/testing';
import { FIXTURES_DIR, registerFile, registerFixture } from '../support/fixtures.js';
import { oracleModel, type OracleModel } from '../support/explain-oracle.js';

/**
 * Batch jobs with `output.contributions` (issue 18): each output row carries its explanation as columns, the same
 * values `POST /explain` answers (checked against the Python oracle), whatever the output format.
 */
const { apiUrl, adminApiKey: token } = e2eEnv();
const rf = oracleModel('iris_rf');
const CLASSES = [0, 1, 2];
const NAMES = CLASSES.flatMap((c) => [...rf.features.map((f) => `contribution_${f}_${c}`), `base_value_${c}`]);

async function finished(id: string) {
  const until = Date.now() + 60_000;
  for (;;) {
    const r = await http(apiUrl, 'GET', `/v1/jobs/${id}`, { token });
    assert.equal(r.status, 200, r.text);
    if (!['queued', 'running'].includes(r.json.status)) return r.json;
    assert.ok(Date.now() < until, `job ${id} still ${r.json.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function submit(spec: unknown, body: string, filename: string) {
  const form = new FormData();
  form.append('spec', JSON.stringify(spec));
  form.append('file', new Blob([body]), filename);
  const res = await fetch(`${apiUrl}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return { status: res.status, json: (await res.json()) as { id: string; error?: { message: string } } };
}

async function output(id: string) {
  const res = await fetch(`${apiUrl}/v1/jobs/${id}/files/output`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return new Uint8Array(await res.arrayBuffer());
}

/** Each output row's contribution columns equal the oracle's values for that row (within 1e-5). */
function assertColumnsMatchOracle(rows: Record<string, unknown>[], o: OracleModel) {
  assert.equal(rows.length, o.rows.length);
  rows.forEach((row, r) => {
    CLASSES.forEach((c) => {
      o.features.forEach((f, j) => {
        const got = Number(row[`contribution_${f}_${c}`]);
        const want = o.rows[r]!.contributions![j]![c]!;
        assert.ok(Math.abs(got - want) <= 1e-5, `row ${r} ${f} class ${c}: ${got} vs ${want}`);
      });
      const base = Number(row[`base_value_${c}`]);
      assert.ok(Math.abs(base - o.rows[r]!.base[c]!) <= 1e-5, `row ${r} base ${c}: ${base}`);
    });
  });
}

const csvInput = (o: OracleModel) =>
  `id,${o.features.join(',')}\n${o.rows.map((r, i) => `r${i},${r.x.join(',')}`).join('\n')}\n`;

function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\n');
  const names = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i]!, v])));
}

describe('batch jobs with contribution columns (output.contributions)', () => {
  let model = '';
  before(async () => {
    model = (
      await registerFile(apiUrl, token, path.join(FIXTURES_DIR, 'iris_rf', 'model.onnx'), {
        spec: { reference: { feature_names: rf.features, rows: rf.background } },
      })
    ).model;
  });

  it('CSV in and out: a column per feature and class and the base, values equal to the oracle', async () => {
    const { status, json } = await submit({ model, output: { contributions: true } }, csvInput(rf), 'in.csv');
    assert.equal(status, 202, JSON.stringify(json));
    const job = await finished(json.id);
    assert.equal(job.status, 'succeeded', job.error);
    const text = Buffer.from(await output(json.id)).toString('utf8');
    const head = text.split('\n')[0]!.split(',');
    assert.deepEqual(head, [
      'id',
      ...rf.features,
      'prediction',
      'probability_0',
      'probability_1',
      'probability_2',
      ...NAMES,
    ]);
    const rows = parseCsv(text);
    assert.deepEqual(
      rows.map((r) => r.id),
      rf.rows.map((_, i) => `r${i}`),
    );
    assertColumnsMatchOracle(rows, rf);
  });

  it('CSV in, Parquet and Arrow out: the same contribution columns, as float64 columns', async () => {
    for (const format of ['parquet', 'arrow'] as const) {
      const { json } = await submit({ model, output: { contributions: true, format } }, csvInput(rf), 'in.csv');
      const job = await finished(json.id);
      assert.equal(job.status, 'succeeded', job.error);
      const bytes = await output(json.id);
      const rows =
        format === 'parquet'
          ? ((await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset) as ArrayBuffer })) as Record<
              string,
              unknown
            >[])
          : tableFromIPC(bytes)
              .toArray()
              .map((r) => r.toJSON() as Record<string, unknown>);
      for (const name of NAMES) assert.ok(name in rows[0]!, `${format}: column ${name}`);
      assertColumnsMatchOracle(rows, rf);
    }
  });

  it('JSON Lines in and out: each line carries the contribution fields', async () => {
    const jsonl = rf.rows.map((r, i) =>
      JSON.stringify({ id: `r${i}`, ...Object.fromEntries(rf.features.map((f, j) => [f, r.x[j]])) }),
    );
    const { json } = await submit({ model, output: { contributions: true } }, `${jsonl.join('\n')}\n`, 'in.jsonl');
    const job = await finished(json.id);
    assert.equal(job.status, 'succeeded', job.error);
    const lines = Buffer.from(await output(json.id))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assertColumnsMatchOracle(lines, rf);
  });

  it('a job asking contributions for more rows than BATCH_CONTRIBUTIONS_MAX_ROWS fails with the reason, unexplained', async () => {
    // The platform's default budget is 100,000 rows a job; one row more fails before any row is explained.
    const row = rf.rows[0]!.x.join(',');
    const body = `${rf.features.join(',')}\n${`${row}\n`.repeat(100_001)}`;
    const { status, json } = await submit({ model, output: { contributions: true } }, body, 'in.csv');
    assert.equal(status, 202, JSON.stringify(json));
    const job = await finished(json.id);
    assert.equal(job.status, 'failed', JSON.stringify(job));
    assert.match(job.error, /at most 100000 rows a job \(BATCH_CONTRIBUTIONS_MAX_ROWS\)/);
    assert.equal(job.outputUri, null);
  });

  it('a model the explainer cannot read is refused at submission with its reason, and no job is made', async () => {
    // Two inputs: ready, with a reference dataset, and servable, but not explainable (one float32 [N, features]).
    const { model: two } = await registerFile(apiUrl, token, path.resolve('test/fixtures/two_inputs.onnx'), {
      spec: {
        reference: {
          feature_names: ['a0', 'a1'],
          rows: [
            [1, 2],
            [3, 4],
          ],
        },
      },
    });
    const { status, json } = await submit(
      { model: two, output: { contributions: true } },
      'a0,a1,b0\n1,2,3\n',
      'in.csv',
    );
    assert.equal(status, 400, JSON.stringify(json));
    assert.match(json.error!.message, /one float32 input of shape \[N, features\]/);
    const jobs = await http(apiUrl, 'GET', `/v1/jobs?model=${two}`, { token });
    assert.deepEqual(jobs.json.items, []);
  });

  it('a version without a reference dataset is refused with 409 when contributions are asked for', async () => {
    const { model: bare } = await registerFixture(apiUrl, token, 'iris_rf');
    const { status, json } = await submit({ model: bare, output: { contributions: true } }, csvInput(rf), 'in.csv');
    assert.equal(status, 409, JSON.stringify(json));
    assert.match(json.error!.message, /reference dataset/);
  });
});
