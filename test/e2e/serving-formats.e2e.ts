import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import {
  assertClose,
  FIXTURE_NAMES,
  records,
  registerFixture,
  samples,
  type FixtureName,
  type Samples,
} from '../support/fixtures.js';

const env = e2eEnv();
/** ONNX files made by test/fixtures/make_fixtures.py. */
const OWN_FIXTURES = path.resolve('test/fixtures');
const token = env.adminApiKey;

const oip = (model: string, body: unknown, suffix = '', key = token) =>
  http(env.apiUrl, 'POST', `/v2/models/${model}${suffix}/infer`, { token: key, body });
const tfs = (model: string, body: unknown, suffix = '', key = token) =>
  http(env.apiUrl, 'POST', `/v1/models/${model}${suffix}:predict`, { token: key, body });
const mlflow = (model: string, body: unknown, headers?: Record<string, string>) =>
  http(env.apiUrl, 'POST', `/v1/models/${model}/invocations`, {
    token,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
const get = (url: string, key = token) => http(env.apiUrl, 'GET', url, { token: key });

/** Registers one of our own fixtures (no sample rows) and waits until it is ready; promotes unless told not to. */
async function registerOwn(file: string, opts: { promote?: boolean } = {}) {
  const model = uniqueId(file.replace('_', '-'));
  const form = new FormData();
  form.append('spec', JSON.stringify({}));
  form.append('file', new Blob([readFileSync(path.join(OWN_FIXTURES, `${file}.onnx`))]), `${file}.onnx`);
  const res = await fetch(`${env.apiUrl}/v1/models/${model}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const v = (await res.json()) as { version: number };
  assert.equal(res.status, 202, JSON.stringify(v));
  let status = 'pending';
  let reason = '';
  for (let i = 0; i < 100 && status === 'pending'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const got = (await get(`/v1/models/${model}/versions/${v.version}`)).json;
    status = got.status;
    reason = got.failureReason;
  }
  assert.equal(status, 'ready', `${file} did not become ready: ${reason}`);
  if (opts.promote !== false)
    assert.equal(
      (
        await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${v.version}/stage`, {
          token,
          body: { stage: 'Production' },
        })
      ).status,
      200,
    );
  return { model, version: v.version };
}

const input = (s: Samples) => s.inputs[0]!;
const rowsOf = (s: Samples) => s.input_data[input(s).name]!;
/** OIP flat data back into rows of `shape[1]`. */
const chunk = (data: number[], shape: number[]) =>
  Array.from({ length: shape[0]! }, (_, r) => data.slice(r * shape[1]!, (r + 1) * shape[1]!));

/** Probabilities (and labels when the model outputs them) against samples.json. */
function assertAnswers(f: FixtureName, got: { probabilities?: number[][]; label?: unknown[] }, what: string) {
  const s = samples(f);
  if (s.outputs.some((o) => o.name === 'label')) assert.deepEqual(got.label, s.expected.label, `${what}: labels`);
  assertClose(got.probabilities!, s.expected.probabilities, s.tolerance.probabilities, `${f} ${what}`);
}

describe('serving formats: OIP v2, TF Serving / KServe v1 and MLflow on every fixture', () => {
  const models = {} as Record<FixtureName, { model: string; version: number }>;
  before(async () => {
    for (const f of FIXTURE_NAMES) models[f] = await registerFixture(env.apiUrl, token, f);
  });

  for (const f of FIXTURE_NAMES) {
    it(`${f}: OIP v2 infer, with and without a version`, async () => {
      const s = samples(f);
      const rows = rowsOf(s);
      const body = {
        id: `${f}-1`,
        inputs: [{ name: input(s).name, shape: [rows.length, rows[0]!.length], datatype: 'FP32', data: rows.flat() }],
      };
      for (const suffix of ['', `/versions/${models[f].version}`]) {
        const r = await oip(models[f].model, body, suffix);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.model_name, models[f].model);
        assert.equal(r.json.model_version, String(models[f].version));
        assert.equal(r.json.id, `${f}-1`);
        assert.equal(r.headers.get('x-model-version'), String(models[f].version));
        const out = Object.fromEntries(r.json.outputs.map((o: { name: string }) => [o.name, o]));
        assertAnswers(
          f,
          { probabilities: chunk(out.probabilities.data, out.probabilities.shape), label: out.label?.data },
          `OIP${suffix}`,
        );
      }
    });

    it(`${f}: TF Serving / KServe v1 instances and inputs`, async () => {
      const s = samples(f);
      const hasLabel = s.outputs.some((o) => o.name === 'label');
      const rows = await tfs(models[f].model, { instances: rowsOf(s) });
      assert.equal(rows.status, 200, rows.text);
      assert.equal(rows.headers.get('x-model-version'), String(models[f].version));
      // One object per row keyed by output name when there are several outputs, else the row's value.
      const p = rows.json.predictions as any[];
      assertAnswers(
        f,
        hasLabel
          ? { probabilities: p.map((x) => x.probabilities), label: p.map((x) => x.label) }
          : { probabilities: p },
        'instances',
      );
      const cols = await tfs(
        models[f].model,
        { inputs: rowsOf(s), signature_name: 'serving_default' },
        `/versions/${models[f].version}`,
      );
      assert.equal(cols.status, 200, cols.text);
      assertAnswers(f, hasLabel ? cols.json.outputs : { probabilities: cols.json.outputs }, 'inputs');
    });

    it(`${f}: MLflow dataframe_split, dataframe_records, instances, inputs and CSV`, async () => {
      const s = samples(f);
      const columns = input(s).columns;
      const rows = rowsOf(s);
      const bodies: [string, unknown, Record<string, string>?][] = [
        ['dataframe_split', { dataframe_split: { columns, data: rows, index: rows.map((_, i) => i) } }],
        ['dataframe_records', { dataframe_records: records(s) }],
        ['instances', { instances: rows, params: { ignored: true } }],
        ['inputs', { inputs: rows }],
        ['inputs by column', { inputs: Object.fromEntries(columns.map((c, i) => [c, rows.map((r) => r[i])])) }],
        [
          'csv',
          [columns.map((c) => `"${c}"`).join(','), ...rows.map((r) => r.join(','))].join('\r\n') + '\r\n',
          { 'content-type': 'text/csv; charset=utf-8' },
        ],
      ];
      for (const [what, body, headers] of bodies) {
        const r = await mlflow(models[f].model, body, headers);
        assert.equal(r.status, 200, `${what}: ${r.text}`);
        // The sklearn flavor's predict: one label per row.
        assert.deepEqual(r.json.predictions, s.expected.label, what);
        assert.equal(r.headers.get('x-model-version'), String(models[f].version), what);
      }
    });
  }

  describe('OIP v2 conformance', () => {
    const iris = () => models.iris_logreg;
    const s = samples('iris_logreg');
    const rows = () => rowsOf(s).slice(0, 3);
    const body = (over: Record<string, unknown> = {}, data: unknown = rows().flat()) => ({
      inputs: [{ name: 'float_input', shape: [3, 4], datatype: 'FP32', data }],
      ...over,
    });

    it('answers server metadata and health without credentials', async () => {
      const meta = await get('/v2', '');
      assert.equal(meta.status, 200);
      assert.equal(meta.json.name, 'modelyard');
      assert.equal(typeof meta.json.version, 'string');
      assert.ok(Array.isArray(meta.json.extensions));
      assert.equal((await get('/v2/health/live', '')).status, 200);
      assert.equal((await get('/v2/health/ready', '')).status, 200);
    });

    it('describes a model: name, platform, versions, inputs and outputs with OIP datatypes and -1 dims', async () => {
      for (const suffix of ['', `/versions/${iris().version}`]) {
        const m = await get(`/v2/models/${iris().model}${suffix}`);
        assert.equal(m.status, 200, m.text);
        assert.equal(m.json.name, iris().model);
        assert.equal(m.json.platform, 'onnx_onnxv1');
        assert.deepEqual(m.json.versions, [String(iris().version)]);
        assert.deepEqual(m.json.inputs, [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }]);
        assert.deepEqual(m.json.outputs, [
          { name: 'label', datatype: 'INT64', shape: [-1] },
          { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        ]);
      }
    });

    it('says ready for a served model and version, 404 for unknown ones, 503 with nothing in Production', async () => {
      assert.equal((await get(`/v2/models/${iris().model}/ready`)).status, 200);
      assert.equal((await get(`/v2/models/${iris().model}/versions/${iris().version}/ready`)).status, 200);
      const unknown = await get(`/v2/models/${uniqueId('nope')}/ready`);
      assert.equal(unknown.status, 404);
      assert.equal(typeof unknown.json.error, 'string');
      assert.equal((await get(`/v2/models/${iris().model}/versions/999/ready`)).status, 404);
      const unpromoted = await registerFixture(env.apiUrl, token, 'iris_rf', { promote: false });
      const notReady = await get(`/v2/models/${unpromoted.model}/ready`);
      assert.equal(notReady.status, 503);
      assert.equal(typeof notReady.json.error, 'string');
      const infer = await oip(unpromoted.model, body());
      assert.equal(infer.status, 503);
      assert.equal(typeof infer.json.error, 'string');
      assert.equal((await oip(unpromoted.model, body(), `/versions/${unpromoted.version}`)).status, 200);
    });

    it('echoes the id, and answers with the request id when there is none', async () => {
      assert.equal((await oip(iris().model, body({ id: 'abc-42' }))).json.id, 'abc-42');
      const r = await http(env.apiUrl, 'POST', `/v2/models/${iris().model}/infer`, {
        token,
        body: body(),
        headers: { 'x-request-id': 'req-oip-1' },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.id, 'req-oip-1');
    });

    it('gives identical outputs for flat and nested data, keeps the batch dim, ignores parameters', async () => {
      const flat = await oip(iris().model, body({ parameters: { priority: 1, x: 'y' } }));
      const nested = await oip(iris().model, body({}, rows()));
      assert.equal(flat.status, 200, flat.text);
      assert.deepEqual(nested.json.outputs, flat.json.outputs);
      assert.deepEqual(
        flat.json.outputs.map((o: { shape: number[] }) => o.shape),
        [[3], [3, 3]],
      );
      for (const o of flat.json.outputs)
        for (const k of ['name', 'shape', 'datatype', 'data']) assert.ok(k in o, `output has ${k}`);
    });

    it('returns only the requested outputs and refuses an unknown one', async () => {
      const one = await oip(iris().model, body({ outputs: [{ name: 'probabilities' }] }));
      assert.equal(one.status, 200, one.text);
      assert.deepEqual(
        one.json.outputs.map((o: { name: string }) => o.name),
        ['probabilities'],
      );
      const bad = await oip(iris().model, body({ outputs: [{ name: 'nope' }] }));
      assert.equal(bad.status, 400);
      assert.match(bad.json.error, /Unknown output\(s\) nope/);
    });

    it('answers 400 {"error"} for a shape/data mismatch, an unknown or missing input; 404 for an unknown model or version', async () => {
      const mismatch = await oip(iris().model, {
        inputs: [{ name: 'float_input', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3] }],
      });
      assert.equal(mismatch.status, 400);
      assert.match(mismatch.json.error, /shape \[2, 4\] needs 8 values/);
      assert.deepEqual(Object.keys(mismatch.json), ['error']);
      const unknown = await oip(iris().model, {
        inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
      });
      assert.equal(unknown.status, 400);
      assert.match(unknown.json.error, /Unknown input "x"/);
      assert.equal((await oip(iris().model, { inputs: [] })).status, 400);
      assert.equal((await oip(uniqueId('nope'), body())).status, 404);
      const noVersion = await oip(iris().model, body(), '/versions/999');
      assert.equal(noVersion.status, 404);
      assert.equal(typeof noVersion.json.error, 'string');
    });

    it('answers auth failures in its own shape', async () => {
      const anon = await oip(iris().model, body(), '', '');
      assert.equal(anon.status, 401);
      assert.equal(typeof anon.json.error, 'string');
      const malformed = await http(env.apiUrl, 'POST', `/v2/models/${iris().model}/infer`, {
        token,
        body: '{"inputs": [',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(malformed.status, 400);
      assert.equal(typeof malformed.json.error, 'string');
    });

    it('round-trips every datatype that has a JSON form, 64-bit integers beyond 2^53 as strings; refuses FP16', async () => {
      const { model } = await registerOwn('dtypes');
      const cases: [string, string, unknown[]][] = [
        ['bool', 'BOOL', [true, false]],
        ['uint8', 'UINT8', [0, 255]],
        ['uint16', 'UINT16', [0, 65535]],
        ['uint32', 'UINT32', [0, 4294967295]],
        ['uint64', 'UINT64', [9007199254740991, '18446744073709551615']],
        ['int8', 'INT8', [-128, 127]],
        ['int16', 'INT16', [-32768, 32767]],
        ['int32', 'INT32', [-2147483648, 2147483647]],
        ['int64', 'INT64', ['-9223372036854775808', '9223372036854775807']],
        ['float32', 'FP32', [1.5, -0.25]],
        ['float64', 'FP64', [1e300, -2.5e-300]],
        ['string', 'BYTES', ['héllo', '']],
      ];
      const r = await oip(model, {
        inputs: cases.map(([d, datatype, data]) => ({ name: `x_${d}`, datatype, shape: [1, 2], data })),
      });
      assert.equal(r.status, 200, r.text);
      const out = Object.fromEntries(r.json.outputs.map((o: { name: string }) => [o.name, o]));
      for (const [d, datatype, data] of cases)
        assert.deepEqual(out[`y_${d}`], { name: `y_${d}`, datatype, shape: [1, 2], data }, d);
      const precise = await oip(model, {
        inputs: cases.map(([d, datatype, data]) => ({
          name: `x_${d}`,
          datatype,
          shape: [1, 2],
          data: d === 'int64' ? [2 ** 60, 1] : data,
        })),
      });
      assert.equal(precise.status, 400, 'a JSON number past 2^53 has already been rounded');
      const wrongType = await oip(model, {
        inputs: cases.map(([d, datatype, data]) => ({
          name: `x_${d}`,
          datatype: d === 'uint8' ? 'INT8' : datatype,
          shape: [1, 2],
          data,
        })),
      });
      assert.equal(wrongType.status, 400);
      const fp16 = await registerOwn('fp16');
      const half = await oip(fp16.model, { inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 2], data: [1, 2] }] });
      assert.equal(half.status, 400);
      assert.match(half.json.error, /FP16 has no JSON form/);
    });
  });

  describe('several inputs and outputs', () => {
    let two: { model: string; version: number };
    before(async () => {
      two = await registerOwn('two_inputs');
    });

    it('takes each input by name in OIP, TF Serving rows and columns, and MLflow tables', async () => {
      const o = await oip(two.model, {
        inputs: [
          { name: 'b', datatype: 'FP32', shape: [2, 1], data: [3, 30] },
          {
            name: 'a',
            datatype: 'FP32',
            shape: [2, 2],
            data: [
              [1, 2],
              [10, 20],
            ],
          },
        ],
      });
      assert.equal(o.status, 200, o.text);
      assert.deepEqual(o.json.outputs, [
        { name: 'total', datatype: 'FP32', shape: [2, 1], data: [6, 60] },
        { name: 'doubled', datatype: 'FP32', shape: [2, 3], data: [2, 4, 6, 20, 40, 60] },
      ]);
      const rows = await tfs(two.model, {
        instances: [
          { a: [1, 2], b: [3] },
          { a: [10, 20], b: 30 },
        ],
      });
      assert.equal(rows.status, 200, rows.text);
      assert.deepEqual(rows.json.predictions, [
        { total: [6], doubled: [2, 4, 6] },
        { total: [60], doubled: [20, 40, 60] },
      ]);
      const cols = await tfs(two.model, {
        inputs: {
          a: [
            [1, 2],
            [10, 20],
          ],
          b: [[3], [30]],
        },
      });
      assert.deepEqual(cols.json.outputs, {
        total: [[6], [60]],
        doubled: [
          [2, 4, 6],
          [20, 40, 60],
        ],
      });
      const table = await mlflow(two.model, {
        dataframe_split: {
          columns: ['b0', 'a1', 'a0'],
          data: [
            [3, 2, 1],
            [30, 20, 10],
          ],
        },
      });
      assert.equal(table.status, 200, table.text);
      assert.deepEqual(table.json.predictions, [
        { total: [6], doubled: [2, 4, 6] },
        { total: [60], doubled: [20, 40, 60] },
      ]);
      const missing = await tfs(two.model, { instances: [{ a: [1, 2] }] });
      assert.equal(missing.status, 400);
      assert.match(missing.json.error, /input "b" is missing/);
    });
  });

  describe('TF Serving / KServe v1 routes', () => {
    const iris = () => models.iris_logreg;
    const one = () => ({ instances: rowsOf(samples('iris_logreg')).slice(0, 1) });

    it('routes the literal colon: model, version and label predict, and nothing without the colon', async () => {
      await http(env.apiUrl, 'PUT', `/v1/models/${iris().model}/aliases/stable`, {
        token,
        body: { version: iris().version },
      });
      for (const suffix of ['', `/versions/${iris().version}`, '/labels/stable']) {
        const r = await tfs(iris().model, one(), suffix);
        assert.equal(r.status, 200, `${suffix}:predict ${r.text}`);
        assert.equal(r.headers.get('x-model-version'), String(iris().version));
      }
      assert.equal((await tfs(iris().model, one(), '/labels/nobody')).status, 404);
      assert.equal((await http(env.apiUrl, 'POST', `/v1/models/${iris().model}`, { token, body: one() })).status, 404);
      assert.equal(
        (await http(env.apiUrl, 'POST', `/v1/models/${iris().model}:classify`, { token, body: one() })).status,
        404,
      );
      assert.equal((await tfs(uniqueId('nope'), one())).status, 404);
    });

    it('refuses both instances and inputs, NaN tokens and bad rows with {"error"}', async () => {
      const both = await tfs(iris().model, { ...one(), inputs: one().instances });
      assert.equal(both.status, 400);
      assert.deepEqual(Object.keys(both.json), ['error']);
      assert.match(both.json.error, /not both/);
      const nan = await http(env.apiUrl, 'POST', `/v1/models/${iris().model}:predict`, {
        token,
        body: '{"instances": [[NaN, 1, 2, 3]]}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(nan.status, 400);
      assert.equal(typeof nan.json.error, 'string');
      const short = await tfs(iris().model, { instances: [[1, 2, 3]] });
      assert.equal(short.status, 400);
      assert.match(short.json.error, /Row 0: expected 4 values, got 3/);
      const anon = await tfs(iris().model, one(), '', '');
      assert.equal(anon.status, 401);
      assert.equal(typeof anon.json.error, 'string');
    });

    it('adds TF Serving and KServe v1 status to the registry routes, for predict keys too', async () => {
      const m = await get(`/v1/models/${iris().model}`);
      assert.equal(m.status, 200, m.text);
      assert.equal(m.json.name, iris().model);
      assert.equal(m.json.ready, true);
      assert.ok(m.json.productionVersion, 'still the registry record');
      assert.deepEqual(m.json.model_version_status, [
        { version: String(iris().version), state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ]);
      const v = await get(`/v1/models/${iris().model}/versions/${iris().version}`);
      assert.equal(v.json.ready, true);
      assert.equal(v.json.model_version_status[0].state, 'AVAILABLE');
      const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
        token,
        body: { name: uniqueId('tfs'), role: 'viewer' },
      });
      const key = (
        await http(env.apiUrl, 'POST', '/v1/api-keys', {
          token,
          body: { name: 'tfs', scopes: ['predict'], serviceAccountId: sa.json.id },
        })
      ).json.secret as string;
      const status = await get(`/v1/models/${iris().model}`, key);
      assert.equal(status.status, 200, status.text);
      assert.deepEqual(Object.keys(status.json).sort(), ['model_version_status', 'name', 'ready']);
      assert.equal((await get(`/v1/models/${iris().model}/versions/${iris().version}`, key)).json.ready, true);
      assert.equal(
        (await get(`/v1/models/${iris().model}/versions`, key)).status,
        403,
        'the rest of the registry still needs models:read',
      );
      const unpromoted = await registerFixture(env.apiUrl, token, 'iris_rf', { promote: false });
      const cold = await get(`/v1/models/${unpromoted.model}/versions/${unpromoted.version}`);
      assert.equal(cold.json.ready, false);
      assert.equal(cold.json.model_version_status[0].state, 'UNAVAILABLE');
      assert.equal((await get(`/v1/models/${unpromoted.model}`)).json.ready, false);
    });

    it('answers label status and signature metadata', async () => {
      await http(env.apiUrl, 'PUT', `/v1/models/${iris().model}/aliases/canary`, {
        token,
        body: { version: iris().version },
      });
      const label = await get(`/v1/models/${iris().model}/labels/canary`);
      assert.equal(label.status, 200, label.text);
      assert.deepEqual(label.json.model_version_status, [
        { version: String(iris().version), state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ]);
      for (const suffix of ['', `/versions/${iris().version}`]) {
        const meta = await get(`/v1/models/${iris().model}${suffix}/metadata`);
        assert.equal(meta.status, 200, meta.text);
        assert.equal(meta.json.model_spec.version, String(iris().version));
        const sig = meta.json.metadata.signature_def.signature_def.serving_default;
        assert.equal(sig.inputs.float_input.dtype, 'DT_FLOAT');
        assert.deepEqual(
          sig.inputs.float_input.tensor_shape.dim.map((d: { size: string }) => d.size),
          ['-1', '4'],
        );
        assert.equal(sig.outputs.label.dtype, 'DT_INT64');
      }
    });
  });

  describe('MLflow scoring', () => {
    const iris = () => models.iris_logreg;
    const one = { instances: rowsOf(samples('iris_logreg')).slice(0, 1) };

    it("refuses zero or two format keys and unknown keys with MLflow's message", async () => {
      for (const body of [
        {},
        { ...one, inputs: one.instances },
        { ...one, signature_name: 'serving_default' },
        { columns: ['a'], data: [[1]] },
      ]) {
        const r = await mlflow(iris().model, body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.json.error_code, 'BAD_REQUEST');
        assert.match(
          r.json.message,
          /exactly one of the input fields \{'dataframe_split', 'dataframe_records', 'instances', 'inputs'\}/,
        );
      }
    });

    it('answers 415 in its own shape for other content types and charsets', async () => {
      for (const type of [
        'text/plain',
        'application/json; charset=latin-1',
        'application/xml',
        'application/x-www-form-urlencoded',
      ]) {
        const r = await mlflow(iris().model, type.includes('json') ? JSON.stringify(one) : 'a=1', {
          'content-type': type,
        });
        assert.equal(r.status, 415, `${type}: ${r.text}`);
        assert.equal(typeof r.json.error_code, 'string', type);
        assert.equal(typeof r.json.message, 'string', type);
      }
    });

    it('reads CSV strictly and names the bad cell', async () => {
      const header = '"sepal_length","sepal_width","petal_length","petal_width"\n';
      const ok = await mlflow(iris().model, `${header}5.1,3.5,1.4,0.2\n`, { 'content-type': 'text/csv' });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json.predictions, [0]);
      const bad = await mlflow(iris().model, `${header}5.1,3.5,1.4,"x"\n`, { 'content-type': 'text/csv' });
      assert.equal(bad.status, 400);
      assert.match(bad.json.message, /Row 0: feature "petal_width" must be a finite number, got "x"/);
      const unclosed = await mlflow(iris().model, `${header}5.1,3.5,"1.4,0.2\n`, { 'content-type': 'text/csv' });
      assert.equal(unclosed.status, 400);
      assert.match(unclosed.json.message, /not closed/);
    });

    it('answers 404, 503 and 401 in its own shape', async () => {
      const missing = await mlflow(uniqueId('nope'), one);
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
      const unpromoted = await registerFixture(env.apiUrl, token, 'iris_rf', { promote: false });
      const notReady = await mlflow(unpromoted.model, one);
      assert.equal(notReady.status, 503);
      assert.equal(notReady.json.error_code, 'TEMPORARILY_UNAVAILABLE');
      const anon = await http(env.apiUrl, 'POST', `/v1/models/${iris().model}/invocations`, { body: one });
      assert.equal(anon.status, 401);
      assert.equal(anon.json.error_code, 'UNAUTHENTICATED');
    });
  });

  it('says which version answered in X-Model-Version on every format', async () => {
    const { model, version } = models.iris_rf;
    const s = samples('iris_rf');
    const row = rowsOf(s).slice(0, 1);
    const answers = [
      await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
        token,
        body: { payload: records(s).slice(0, 1) },
      }),
      await oip(model, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: row.flat() }] }),
      await tfs(model, { instances: row }),
      await mlflow(model, { dataframe_records: records(s).slice(0, 1) }),
    ];
    for (const r of answers) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('x-model-version'), String(version));
      assert.equal(r.headers.get('x-deployment-role'), 'production');
    }
  });
});
