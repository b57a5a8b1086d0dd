import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Table, tableFromIPC, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { e2eEnv, http } from '@modelyard/testing';
import { assertClose, records, registerFixture, samples } from '../support/fixtures.js';

/**
 * Issue 23: batch jobs read and write Parquet and Arrow IPC column by column, and a CSV job is scored from bytes
 * by the worker that holds the file. Outputs are read back here with the libraries a client would use.
 */
const env = e2eEnv();
const iris = samples('iris_logreg');
const irisRows = records(iris);
const FEATURES = iris.feature_names;
const N = 3000;

async function finished(id: string, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await http(env.apiUrl, 'GET', `/v1/jobs/${id}`, { token: env.adminApiKey });
    assert.equal(r.status, 200, r.text);
    if (!['queued', 'running'].includes(r.json.status)) return r.json;
    assert.ok(Date.now() < until, `job ${id} still ${r.json.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function submit(spec: unknown, body: Uint8Array | string, filename: string) {
  const form = new FormData();
  form.append('spec', JSON.stringify(spec));
  form.append('file', new Blob([typeof body === 'string' ? body : new Uint8Array(body)]), filename);
  const res = await fetch(`${env.apiUrl}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.adminApiKey}` },
    body: form,
  });
  const json = (await res.json()) as { id: string };
  assert.equal(res.status, 202, JSON.stringify(json));
  return finished(json.id);
}

async function file(id: string, which: 'output' | 'errors') {
  const res = await fetch(`${env.apiUrl}/v1/jobs/${id}/files/${which}`, {
    headers: { authorization: `Bearer ${env.adminApiKey}` },
  });
  assert.equal(res.status, 200);
  return { bytes: new Uint8Array(await res.arrayBuffer()), type: res.headers.get('content-type') };
}

/** The fixture's rows, N times over, as columns: ids and float32 features. */
function columns(n = N) {
  const ids = Array.from({ length: n }, (_, i) => `e${i}`);
  const feats = Object.fromEntries(
    FEATURES.map((f) => [f, Float32Array.from({ length: n }, (_, i) => irisRows[i % irisRows.length]![f]!)]),
  );
  return { ids, feats };
}

const parquetInput = (mutate: (f: Record<string, (number | null)[] | Float32Array>) => void = () => {}) => {
  const { ids, feats } = columns();
  const f: Record<string, (number | null)[] | Float32Array> = { ...feats };
  mutate(f);
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'id', data: ids, type: 'STRING' },
        ...FEATURES.map((name) => ({ name, data: f[name]!, type: 'FLOAT' as const })),
      ],
      rowGroupSize: 1000,
    }),
  );
};

/** The fixture's expected labels and probabilities for output row r (rows cycle through the fixture). */
function checkScores(labels: unknown[], probs: number[][], ids: unknown[]) {
  const n = irisRows.length;
  assert.deepEqual(
    labels.map(Number),
    labels.map((_, r) => iris.expected.label![r % n]),
  );
  assertClose(
    probs,
    probs.map((_, r) => iris.expected.probabilities![r % n]!),
    iris.tolerance.probabilities!,
    'probabilities',
  );
  assert.deepEqual(
    ids,
    labels.map((_, r) => `e${r}`),
  );
}

describe('batch jobs in Parquet and Arrow', () => {
  let model: string;
  before(async () => {
    model = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg')).model;
  });

  it('scores a Parquet file into a Parquet file a client reads back: ids, labels, probabilities per row', async () => {
    const job = await submit({ model }, parquetInput(), 'in.parquet');
    assert.equal(job.status, 'succeeded', job.error);
    assert.deepEqual([job.rowsIn, job.rowsOut, job.rowsFailed], [N, N, 0]);
    const out = await file(job.id, 'output');
    assert.equal(out.type, 'application/vnd.apache.parquet');
    const buf = out.bytes.buffer.slice(out.bytes.byteOffset, out.bytes.byteOffset + out.bytes.byteLength);
    const md = parquetMetadata(buf);
    assert.deepEqual(
      md.schema.slice(1).map((s) => s.name),
      ['id', ...FEATURES, 'prediction', ...iris.classes!.map((c) => `probability_${c}`)],
    );
    const rows = (await parquetReadObjects({ file: buf })) as Record<string, unknown>[];
    checkScores(
      rows.map((r) => r.prediction),
      rows.map((r) => iris.classes!.map((c) => r[`probability_${c}`] as number)),
      rows.map((r) => r.id),
    );
    assert.equal(rows[7]![FEATURES[0]!], Math.fround(irisRows[7 % irisRows.length]![FEATURES[0]!]!));
  });

  it('scores an Arrow IPC file into an Arrow IPC file, and a CSV into Arrow when output.format asks', async () => {
    const { ids, feats } = columns();
    const input = tableToIPC(
      new Table({
        id: vectorFromArray(ids, new Utf8()),
        ...Object.fromEntries(FEATURES.map((f) => [f, vectorFromArray(feats[f]!)])),
      }),
      'file',
    );
    const csvLines = ids.map((id, i) => [id, ...FEATURES.map((f) => feats[f]![i])].join(','));
    for (const [body, name] of [
      [input, 'in.arrow'],
      [`id,${FEATURES.join(',')}\n${csvLines.join('\n')}\n`, 'in.csv'],
    ] as const) {
      const job = await submit({ model, output: { format: 'arrow' } }, body, name);
      assert.equal(job.status, 'succeeded', `${name}: ${job.error}`);
      const out = await file(job.id, 'output');
      assert.equal(out.type, 'application/vnd.apache.arrow.file');
      const t = tableFromIPC(out.bytes);
      assert.equal(t.numRows, N, name);
      checkScores(
        Array.from(t.getChild('prediction')!),
        Array.from({ length: N }, (_, r) => iris.classes!.map((c) => t.getChild(`probability_${c}`)!.get(r) as number)),
        Array.from(t.getChild('id')!),
      );
    }
  });

  it('writes a Parquet input as CSV when asked, with the id column only', async () => {
    const job = await submit(
      { model, output: { format: 'csv', columns: 'id', idColumn: 'id' } },
      parquetInput(),
      'x.parquet',
    );
    assert.equal(job.status, 'succeeded', job.error);
    const lines = Buffer.from((await file(job.id, 'output')).bytes)
      .toString()
      .trimEnd()
      .split('\n');
    assert.equal(lines[0], `id,prediction,${iris.classes!.map((c) => `probability_${c}`).join(',')}`);
    const cells = lines.slice(1).map((l) => l.split(','));
    checkScores(
      cells.map((c) => c[1]),
      cells.map((c) => c.slice(2).map(Number)),
      cells.map((c) => c[0]),
    );
  });

  it('sets rows with a null or NaN feature aside in the errors file, naming the line and the feature', async () => {
    const job = await submit(
      { model },
      parquetInput((f) => {
        const a = Array.from(f[FEATURES[0]!]!) as (number | null)[];
        a[4] = null;
        a[10] = NaN;
        f[FEATURES[0]!] = a;
      }),
      'holes.parquet',
    );
    assert.equal(job.status, 'succeeded', job.error);
    assert.deepEqual([job.rowsIn, job.rowsOut, job.rowsFailed], [N, N - 2, 2]);
    const errors = Buffer.from((await file(job.id, 'errors')).bytes)
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; error: string; row: Record<string, unknown> });
    assert.deepEqual(
      errors.map((e) => [e.line, e.error, e.row.id]),
      [
        [5, `feature "${FEATURES[0]}" is missing`, 'e4'],
        [11, `feature "${FEATURES[0]}" must be a finite number, got NaN`, 'e10'],
      ],
    );

    // A float column with no null but a NaN (read as a Float32Array): the same, the other rows scored.
    const nan = await submit(
      { model },
      parquetInput((f) => {
        const a = Float32Array.from(f[FEATURES[1]!]! as ArrayLike<number>);
        a[7] = NaN;
        f[FEATURES[1]!] = a;
      }),
      'nan.parquet',
    );
    assert.equal(nan.status, 'succeeded', nan.error);
    assert.deepEqual([nan.rowsIn, nan.rowsOut, nan.rowsFailed], [N, N - 1, 1]);
    const nanErrors = Buffer.from((await file(nan.id, 'errors')).bytes)
      .toString()
      .trimEnd()
      .split('\n');
    assert.deepEqual(
      nanErrors.map((l) => (JSON.parse(l) as { line: number; error: string }).error),
      [`feature "${FEATURES[1]}" must be a finite number, got NaN`],
    );
    // The Parquet output carries the other rows' ids, in order (the chunk's text column picked around the bad row).
    const nanOut = (await file(nan.id, 'output')).bytes;
    const nanRows = (await parquetReadObjects({
      file: nanOut.buffer.slice(nanOut.byteOffset, nanOut.byteOffset + nanOut.byteLength),
    })) as Record<string, unknown>[];
    assert.deepEqual(
      nanRows.map((r) => r.id),
      Array.from({ length: N }, (_, i) => `e${i}`).filter((id) => id !== 'e7'),
    );
  });

  it('fails a truncated Parquet file, a missing feature column and a text feature column with the reason', async () => {
    const good = parquetInput();
    const cases: [Uint8Array, string, RegExp][] = [
      [good.subarray(0, good.length - 100), 'cut.parquet', /The Parquet file cannot be read/],
      [good.subarray(0, 10), 'tiny.parquet', /The Parquet file cannot be read/],
      [
        new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'id', data: ['a', 'b'], type: 'STRING' }] })),
        'nofeatures.parquet',
        new RegExp(`The feature "${FEATURES[0]}" is not a column of the input \\(columns: id\\)`),
      ],
      [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 'junk.arrow', /The Arrow IPC file cannot be read/],
    ];
    for (const [body, name, reason] of cases) {
      const job = await submit({ model }, body, name);
      assert.equal(job.status, 'failed', name);
      assert.match(job.error, reason, name);
    }
    const textual = tableToIPC(
      new Table({
        ...Object.fromEntries(FEATURES.map((f) => [f, vectorFromArray(new Float32Array([1, 2]))])),
        [FEATURES[1]!]: vectorFromArray(['1.5', 'x'], new Utf8()),
      }),
      'file',
    );
    const job = await submit({ model }, textual, 'text.arrow');
    // Text that reads as a number is a number (as in CSV); text that does not sets the row aside.
    assert.equal(job.status, 'succeeded', job.error);
    assert.deepEqual([job.rowsOut, job.rowsFailed], [1, 1]);
  });

  it('refuses a JSON Lines input with a Parquet output before anything is stored', async () => {
    const form = new FormData();
    form.append('spec', JSON.stringify({ model, output: { format: 'parquet' } }));
    form.append('file', new Blob(['{}\n']), 'in.jsonl');
    const res = await fetch(`${env.apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.adminApiKey}` },
      body: form,
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { message: string } };
    assert.match(body.error.message, /JSON Lines in gives JSON Lines out/);
  });
});

describe('a CSV job scored from bytes by one worker', () => {
  it('keeps quoted fields, CRLF line ends and bad rows as the row path had them, every row once', async () => {
    const model = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg')).model;
    const { ids, feats } = columns(N);
    const line = (i: number) => `${ids[i]},${FEATURES.map((f) => feats[f]![i]).join(',')}`;
    const body = [
      `id,${FEATURES.join(',')}`,
      ...ids.map((_, i) =>
        i === 5 ? `"e,5",${line(i).split(',').slice(1).join(',')}` : i === 9 ? 'e9,1,2,oops,4' : line(i),
      ),
    ].join('\r\n');
    const job = await submit({ model }, body, 'mixed.csv');
    assert.equal(job.status, 'succeeded', job.error);
    assert.deepEqual([job.rowsIn, job.rowsOut, job.rowsFailed], [N, N - 1, 1]);
    const out = Buffer.from((await file(job.id, 'output')).bytes)
      .toString()
      .trimEnd()
      .split('\n');
    assert.equal(out.length, N);
    assert.ok(out[6]!.startsWith('"e,5",'), out[6]);
    assert.ok(!out.some((l) => l.startsWith('e9,')));
    const errors = Buffer.from((await file(job.id, 'errors')).bytes).toString();
    assert.match(errors, /^line,error,row\n10,/);
  });
});
