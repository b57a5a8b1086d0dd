import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const env = e2eEnv();

/** A POST with a chunked body (no Content-Length), written in pieces. */
function chunked(url: string, path: string, token: string, pieces: string[]) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(new URL(path, url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    // The server may answer (413) and close before the last piece is written.
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? null : reject(e)));
    for (const p of pieces) req.write(p);
    req.end();
  });
}

/**
 * The predict router (apps/api/src/serving/predict-router.ts) serves every predict route of every protocol, for
 * API keys and dashboard sessions alike: these are its answers, in each protocol's shape, as a client sees them.
 */
describe('serving: the predict router', () => {
  let model: string;
  let version: number;
  let otherModelKey: string;
  let session: string;
  before(async () => {
    ({ model, version } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg'));
    const alias = await http(env.apiUrl, 'PUT', `/v1/models/${model}/aliases/champion`, {
      token: env.adminApiKey,
      body: { version },
    });
    assert.equal(alias.status, 200, alias.text);
    // A key limited to another model: authenticated, but refused for this one.
    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
      token: env.adminApiKey,
      body: { name: uniqueId('router'), role: 'viewer' },
    });
    const k = await http(env.apiUrl, 'POST', '/v1/api-keys', {
      token: env.adminApiKey,
      body: { name: 'router', scopes: ['predict'], serviceAccountId: sa.json.id, modelAllowList: ['some-other-model'] },
    });
    assert.equal(k.status, 201, k.text);
    otherModelKey = k.json.secret;
    const login = await http(env.apiUrl, 'POST', '/v1/auth/login', {
      body: { email: env.adminEmail, password: env.adminPassword },
    });
    assert.equal(login.status, 200, login.text);
    session = login.headers.get('set-cookie')!.split(';')[0]!;
  });

  const s = samples('iris_logreg');
  const row = () => records(s)[0]!;
  const oip = (data: unknown, extra: object = {}) => ({
    inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data }],
    ...extra,
  });
  const m = () => `/v1/models/${model}`;
  /** Our error shape, OIP v2's and TF Serving's, MLflow's. */
  const ours = (code: string) => (b: any) => b?.error?.code === code && typeof b.error.message === 'string';
  const message = (b: any) => typeof b?.error === 'string' && b.error.length > 0;
  const mlflow = (code: string) => (b: any) => b?.error_code === code && typeof b.message === 'string';
  type Case = {
    what: string;
    path: () => string;
    body: () => unknown;
    status: number;
    shape: (b: any) => boolean;
    token?: () => string;
    headers?: Record<string, string>;
  };
  const ok = (b: any) => b !== undefined && !('error' in b) && !('error_code' in b);
  const cases: Case[] = [
    {
      what: 'Production',
      path: () => `${m()}/predict`,
      body: () => ({ payload: records(s).slice(0, 3) }),
      status: 200,
      shape: (b) => b.predictions.length === 3,
    },
    {
      what: 'a version',
      path: () => `${m()}/versions/${version}/predict`,
      body: () => ({ payload: [row()] }),
      status: 200,
      shape: ok,
    },
    {
      what: 'an alias',
      path: () => `${m()}/aliases/champion/predict`,
      body: () => ({ payload: [row()] }),
      status: 200,
      shape: ok,
    },
    {
      what: 'rows as arrays',
      path: () => `${m()}/predict`,
      body: () => ({ payload: [[5.1, 3.5, 1.4, 0.2]] }),
      status: 200,
      shape: ok,
    },
    {
      what: 'a missing feature',
      path: () => `${m()}/predict`,
      body: () => ({ payload: [{ sepal_length: 1 }] }),
      status: 400,
      shape: ours('BAD_REQUEST'),
    },
    {
      what: 'no payload',
      path: () => `${m()}/predict`,
      body: () => ({ rows: [] }),
      status: 400,
      shape: ours('BAD_REQUEST'),
    },
    {
      what: 'malformed JSON',
      path: () => `${m()}/predict`,
      body: () => '{"payload": [ {',
      status: 400,
      shape: ours('BAD_REQUEST'),
    },
    {
      what: 'a __proto__ key',
      path: () => `${m()}/predict`,
      body: () =>
        '{"payload":[{"sepal_length":1,"sepal_width":1,"petal_length":1,"petal_width":1}],"__proto__":{"x":1}}',
      status: 400,
      shape: ours('BAD_REQUEST'),
    },
    {
      what: 'a text/plain body',
      path: () => `${m()}/predict`,
      body: () => 'x',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      shape: ours('UNSUPPORTED_MEDIA_TYPE'),
    },
    {
      what: 'an unknown version',
      path: () => `${m()}/versions/999/predict`,
      body: () => ({ payload: [row()] }),
      status: 404,
      shape: ours('NOT_FOUND'),
    },
    {
      what: 'a version that is no number',
      path: () => `${m()}/versions/1e3/predict`,
      body: () => ({ payload: [row()] }),
      status: 400,
      shape: ours('VALIDATION_FAILED'),
    },
    {
      what: 'an unknown alias',
      path: () => `${m()}/aliases/nobody/predict`,
      body: () => ({ payload: [row()] }),
      status: 404,
      shape: ours('NOT_FOUND'),
    },
    {
      what: 'an alias that is a stage name',
      path: () => `${m()}/aliases/production/predict`,
      body: () => ({ payload: [row()] }),
      status: 400,
      shape: ours('VALIDATION_FAILED'),
    },
    {
      what: 'a name with capitals',
      path: () => '/v1/models/Iris/predict',
      body: () => ({ payload: [row()] }),
      status: 400,
      shape: ours('VALIDATION_FAILED'),
    },
    {
      what: 'an unknown model',
      path: () => '/v1/models/no-such-model-here/predict',
      body: () => ({ payload: [row()] }),
      status: 404,
      shape: ours('NOT_FOUND'),
    },
    {
      what: 'an unknown key',
      path: () => `${m()}/predict`,
      body: () => ({ payload: [row()] }),
      token: () => 'my_' + 'x'.repeat(40),
      status: 401,
      shape: ours('UNAUTHENTICATED'),
    },
    {
      what: 'a key for another model',
      path: () => `${m()}/predict`,
      body: () => ({ payload: [row()] }),
      token: () => otherModelKey,
      status: 403,
      shape: ours('FORBIDDEN'),
    },
    {
      what: 'OIP v2',
      path: () => `/v2/models/${model}/infer`,
      body: () => oip([5.1, 3.5, 1.4, 0.2]),
      status: 200,
      shape: (b) => b.model_name === model && b.outputs.length > 0,
    },
    {
      what: 'OIP v2 with an id and an outputs filter, by version',
      path: () => `/v2/models/${model}/versions/${version}/infer`,
      body: () => oip([[5.1, 3.5, 1.4, 0.2]], { id: 'req-7', outputs: [{ name: 'label' }] }),
      status: 200,
      shape: (b) => b.id === 'req-7' && b.outputs.length === 1 && b.outputs[0].name === 'label',
    },
    {
      what: 'OIP v2 on an alias given as the model version',
      path: () => `/v2/models/${model}/versions/champion/infer`,
      body: () => oip([5.1, 3.5, 1.4, 0.2]),
      status: 200,
      shape: (b) => b.model_version === String(version) && b.outputs.length > 0,
    },
    {
      what: 'OIP v2 on an unknown alias',
      path: () => `/v2/models/${model}/versions/nobody/infer`,
      body: () => oip([5.1, 3.5, 1.4, 0.2]),
      status: 404,
      shape: message,
    },
    {
      what: 'OIP v2 with a shape that does not fit its data',
      path: () => `/v2/models/${model}/infer`,
      body: () => oip([5.1, 3.5, 1.4]),
      status: 400,
      shape: message,
    },
    {
      what: 'OIP v2 for an unknown version',
      path: () => `/v2/models/${model}/versions/999/infer`,
      body: () => oip([5.1, 3.5, 1.4, 0.2]),
      status: 404,
      shape: message,
    },
    {
      what: 'OIP v2 with malformed JSON',
      path: () => `/v2/models/${model}/infer`,
      body: () => '{"inputs": ',
      status: 400,
      shape: message,
    },
    {
      what: 'OIP v2 with a CSV body',
      path: () => `/v2/models/${model}/infer`,
      body: () => 'a\n1\n',
      headers: { 'content-type': 'text/csv' },
      status: 415,
      shape: message,
    },
    {
      what: 'OIP v2 with an unknown key',
      path: () => `/v2/models/${model}/infer`,
      body: () => oip([5.1, 3.5, 1.4, 0.2]),
      token: () => 'my_' + 'y'.repeat(40),
      status: 401,
      shape: message,
    },
    {
      what: 'TF Serving instances',
      path: () => `${m()}:predict`,
      body: () => ({
        instances: [
          [5.1, 3.5, 1.4, 0.2],
          [6.2, 2.9, 4.3, 1.3],
        ],
      }),
      status: 200,
      shape: (b) => b.predictions.length === 2,
    },
    {
      what: 'TF Serving columnar inputs, by version',
      path: () => `${m()}/versions/${version}:predict`,
      body: () => ({ inputs: { float_input: [[5.1, 3.5, 1.4, 0.2]] } }),
      status: 200,
      shape: (b) => b.outputs !== undefined,
    },
    {
      what: 'TF Serving by label',
      path: () => `${m()}/labels/champion:predict`,
      body: () => ({ instances: [[5.1, 3.5, 1.4, 0.2]] }),
      status: 200,
      shape: ok,
    },
    {
      what: 'TF Serving with neither instances nor inputs',
      path: () => `${m()}:predict`,
      body: () => ({ rows: [] }),
      status: 400,
      shape: message,
    },
    {
      what: 'MLflow dataframe_split',
      path: () => `${m()}/invocations`,
      body: () => ({ dataframe_split: { columns: Object.keys(row()), data: [Object.values(row())] } }),
      status: 200,
      shape: (b) => b.predictions.length === 1,
    },
    {
      what: 'MLflow on an alias',
      path: () => `${m()}/aliases/champion/invocations`,
      body: () => ({ dataframe_records: [row()] }),
      status: 200,
      shape: (b) => b.predictions.length === 1,
    },
    {
      what: 'MLflow without a format key',
      path: () => `${m()}/invocations`,
      body: () => ({ data: [] }),
      status: 400,
      shape: mlflow('BAD_REQUEST'),
    },
    {
      what: 'MLflow CSV',
      path: () => `${m()}/invocations`,
      body: () => `${Object.keys(row()).join(',')}\n${Object.values(row()).join(',')}\n`,
      headers: { 'content-type': 'text/csv' },
      status: 200,
      shape: (b) => b.predictions.length === 1,
    },
    {
      what: 'MLflow CSV in another charset',
      path: () => `${m()}/invocations`,
      body: () => 'a,b\n1,2\n',
      headers: { 'content-type': 'text/csv; charset=latin1' },
      status: 415,
      shape: mlflow('BAD_REQUEST'),
    },
    {
      what: 'MLflow text/plain',
      path: () => `${m()}/invocations`,
      body: () => 'x',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      shape: mlflow('BAD_REQUEST'),
    },
    {
      what: 'MLflow for an unknown model',
      path: () => '/v1/models/no-such-model-here/invocations',
      body: () => ({ instances: [[1, 2, 3, 4]] }),
      status: 404,
      shape: mlflow('RESOURCE_DOES_NOT_EXIST'),
    },
  ];
  for (const c of cases) {
    it(`answers ${c.what} with ${c.status} in its protocol's shape`, async () => {
      const r = await http(env.apiUrl, 'POST', c.path(), {
        token: c.token?.() ?? env.adminApiKey,
        body: c.body(),
        headers: c.headers,
      });
      assert.equal(r.status, c.status, r.text);
      assert.ok(c.shape(r.json), r.text);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      if (c.status === 200) assert.equal(r.headers.get('x-model-version'), String(version));
    });
  }

  it('answers a dashboard session the same as an API key, on every protocol', async () => {
    for (const c of cases.filter((x) => x.status === 200)) {
      const viaKey = await http(env.apiUrl, 'POST', c.path(), {
        token: env.adminApiKey,
        body: c.body(),
        headers: c.headers,
      });
      const viaSession = await http(env.apiUrl, 'POST', c.path(), {
        cookie: session,
        body: c.body(),
        headers: { 'sec-fetch-site': 'same-origin', ...c.headers },
      });
      assert.equal(viaSession.status, 200, `${c.what}: ${viaSession.text}`);
      const { id: _a, ...fromKey } = viaKey.json;
      const { id: _b, ...fromSession } = viaSession.json;
      assert.deepEqual(fromSession, fromKey, c.what);
    }
  });

  it('answers a JSON OIP request that asks for binary outputs with raw tensors (the binary extension)', async () => {
    const body = oip([5.1, 3.5, 1.4, 0.2], { id: 'req-bin', parameters: { binary_data_output: true } });
    const r = await http(env.apiUrl, 'POST', `/v2/models/${model}/infer`, { token: env.adminApiKey, body });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    const n = Number(r.headers.get('inference-header-content-length'));
    const header = JSON.parse(r.text.slice(0, n)) as { id: string; outputs: { name: string; parameters: object }[] };
    assert.equal(header.id, 'req-bin');
    assert.deepEqual(
      header.outputs.map((o) => [o.name, o.parameters]),
      [
        ['label', { binary_data_size: 8 }],
        ['probabilities', { binary_data_size: 12 }],
      ],
    );
  });

  it('reads a binary OIP request with no Content-Type (as Triton sends it) into the same answer as JSON', async () => {
    const json = await http(env.apiUrl, 'POST', `/v2/models/${model}/infer`, {
      token: env.adminApiKey,
      body: oip([5.1, 3.5, 1.4, 0.2], { id: 'same' }),
    });
    assert.equal(json.status, 200, json.text);
    const head = Buffer.from(
      JSON.stringify({
        id: 'same',
        inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
      }),
    );
    const tensor = Buffer.from(Float32Array.from([5.1, 3.5, 1.4, 0.2]).buffer);
    const res = await fetch(new URL(`/v2/models/${model}/infer`, env.apiUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${env.adminApiKey}`, 'inference-header-content-length': String(head.length) },
      body: Buffer.concat([head, tensor]),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text), json.json);
    const short = await fetch(new URL(`/v2/models/${model}/infer`, env.apiUrl), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${env.adminApiKey}`,
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(head.length),
      },
      body: Buffer.concat([head, tensor.subarray(0, 8)]),
    });
    assert.equal(short.status, 400);
    assert.equal(typeof ((await short.json()) as { error: unknown }).error, 'string');
  });

  it('refuses a session cookie sent from another site (403), and a request with no caller (401)', async () => {
    const body = { payload: [row()] };
    const cross = await http(env.apiUrl, 'POST', `${m()}/predict`, {
      cookie: session,
      body,
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(cross.status, 403, cross.text);
    assert.match(cross.json.error.message, /Cross-site request refused/);
    const origin = await http(env.apiUrl, 'POST', `/v2/models/${model}/infer`, {
      cookie: session,
      body: oip([5.1, 3.5, 1.4, 0.2]),
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(origin.status, 403, origin.text);
    assert.match(origin.json.error, /Cross-site request refused/);
    const nobody = await http(env.apiUrl, 'POST', `${m()}/invocations`, { body: { instances: [[1, 2, 3, 4]] } });
    assert.equal(nobody.status, 401, nobody.text);
    assert.equal(nobody.json.error_code, 'UNAUTHENTICATED');
    const badCookie = await http(env.apiUrl, 'POST', `${m()}/predict`, { cookie: 'modelyard_session=forged', body });
    assert.equal(badCookie.status, 401, badCookie.text);
  });

  it('reads a percent-encoded path and ignores a query string, as the framework did', async () => {
    const body = { payload: [row()] };
    const plain = await http(env.apiUrl, 'POST', `${m()}/predict`, { token: env.adminApiKey, body });
    const encoded = await http(
      env.apiUrl,
      'POST',
      `/v1/models/${encodeURIComponent(model).replace(/-/g, '%2D')}/predict`,
      {
        token: env.adminApiKey,
        body,
      },
    );
    const query = await http(env.apiUrl, 'POST', `${m()}/aliases/champion/predict?debug=1`, {
      token: env.adminApiKey,
      body,
    });
    assert.equal(encoded.status, 200, encoded.text);
    assert.equal(query.status, 200, query.text);
    assert.deepEqual(encoded.json, plain.json);
    assert.deepEqual(query.json, plain.json);
    const broken = await http(env.apiUrl, 'POST', '/v1/models/%E0%A4%A/predict', { token: env.adminApiKey, body });
    assert.equal(broken.status, 400, broken.text);
    assert.equal(broken.json.error.code, 'VALIDATION_FAILED');
  });

  it('takes a chunked body, and answers 413 to one over MAX_BODY_BYTES', async () => {
    const body = JSON.stringify({ payload: records(s).slice(0, 2) });
    const small = await chunked(env.apiUrl, `${m()}/predict`, env.adminApiKey, [body.slice(0, 10), body.slice(10)]);
    assert.equal(small.status, 200, small.text);
    assert.equal(JSON.parse(small.text).predictions.length, 2);
    // The e2e platform keeps the default limit (1 MiB): 2 MiB in 64 KiB pieces.
    const piece = ' '.repeat(64 * 1024);
    const big = await chunked(env.apiUrl, `${m()}/predict`, env.adminApiKey, [
      '{"payload":[',
      ...Array(32).fill(piece),
      ']}',
    ]);
    assert.equal(big.status, 413, big.text);
    assert.equal(JSON.parse(big.text).error.code, 'PAYLOAD_TOO_LARGE');
    const declared = await http(env.apiUrl, 'POST', `/v2/models/${model}/infer`, {
      token: env.adminApiKey,
      body: `{"inputs": [], "pad": "${'x'.repeat(2 * 1024 * 1024)}"}`,
    });
    assert.equal(declared.status, 413, declared.text);
    assert.match(declared.json.error, /MAX_BODY_BYTES/);
  });

  it('gives each answer a prediction id: the request id made for it when the caller sent none', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
        token: env.adminApiKey,
        body: { payload: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }] },
      });
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('x-request-id') ?? '', UUID);
      assert.equal(r.headers.get('x-prediction-id'), r.headers.get('x-request-id'));
      ids.add(r.headers.get('x-prediction-id')!);
    }
    assert.equal(ids.size, 2);
    // An id it would not echo (spaces, a slash, too long) is replaced, and the made one is the prediction id.
    const bad = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
      token: env.adminApiKey,
      body: { payload: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }] },
      headers: { 'x-request-id': `not ok/${'x'.repeat(80)}` },
    });
    assert.equal(bad.status, 200, bad.text);
    assert.match(bad.headers.get('x-request-id') ?? '', UUID);
    assert.equal(bad.headers.get('x-prediction-id'), bad.headers.get('x-request-id'));
  });

  it("keeps a caller's request id, gives the answer a prediction id of its own, and counts the answer in /metrics under the route's label", async () => {
    const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/labels/champion:predict`, {
      token: env.adminApiKey,
      body: { instances: [[5.1, 3.5, 1.4, 0.2]] },
      headers: { 'x-request-id': 'router-check-1' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-request-id'), 'router-check-1');
    // A caller's id may come again with a retry: the prediction gets an id of its own.
    assert.match(r.headers.get('x-prediction-id') ?? '', UUID);
    const again = await http(env.apiUrl, 'POST', `/v1/models/${model}/labels/champion:predict`, {
      token: env.adminApiKey,
      body: { instances: [[5.1, 3.5, 1.4, 0.2]] },
      headers: { 'x-request-id': 'router-check-1' },
    });
    assert.equal(again.headers.get('x-request-id'), 'router-check-1');
    assert.match(again.headers.get('x-prediction-id') ?? '', UUID);
    assert.notEqual(again.headers.get('x-prediction-id'), r.headers.get('x-prediction-id'));
    const metrics = await http(env.apiUrl, 'GET', '/metrics', { token: env.adminApiKey });
    const lines = metrics.text
      .split('\n')
      .filter((l) => l.startsWith('modelyard_request_duration_seconds_count{') && l.includes(`model="${model}"`));
    // The version is in Production, so the alias's answer counts in that role.
    const want =
      `{model="${model}",version="${version}",format="tfs",role="production",` +
      'route="/v1/models/:name/labels/:label:predict",status="200"}';
    const line = lines.find((l) => l.includes(want));
    assert.ok(line && Number(line.split(' ').pop()) >= 1, lines.join('\n'));
  });
});

/**
 * PREDICT_TIMEOUT_MS: a model whose micro-batcher waits 100 ms for company cannot answer within a
 * 20 ms budget, so the caller gets 503 at the budget (not after the wait) and the timeout is counted.
 */
describe('serving: the time budget', () => {
  let api: AppProcess | null = null;
  let apiUrl = '';
  let model: string;
  before(async () => {
    ({ model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg'));
    const patch = await http(env.apiUrl, 'PATCH', `/v1/models/${model}`, {
      token: env.adminApiKey,
      body: { servingConfig: { microBatch: { maxBatchRows: 64, maxWaitUs: 100_000 } } },
    });
    assert.equal(patch.status, 200, patch.text);
    const port = await freePort();
    api = startApp('api-budget', 'api', {
      API_PORT: String(port),
      PREDICT_TIMEOUT_MS: '20',
      REDIS_PREFIX: uniqueId('budget'),
      PREDICTION_LOG_SAMPLE_RATE: '0',
    });
    apiUrl = `http://127.0.0.1:${port}`;
    await waitReady(`${apiUrl}/readyz`, api);
    // Loads the version in this process (the budget covers the run only); its answer does not matter.
    await http(apiUrl, 'POST', `/v1/models/${model}/predict`, {
      token: env.adminApiKey,
      body: { payload: records(samples('iris_logreg')).slice(0, 1) },
    });
  });
  after(async () => {
    await api?.kill();
  });

  it('answers 503 at the budget, and counts it', async () => {
    const body = { payload: records(samples('iris_logreg')).slice(0, 1) };
    // A batch still waiting from an earlier request would take this one in and answer it early: let it go.
    await new Promise((r) => setTimeout(r, 150));
    const t = performance.now();
    const r = await http(apiUrl, 'POST', `/v1/models/${model}/predict`, { token: env.adminApiKey, body });
    const took = performance.now() - t;
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error.code, 'NOT_READY');
    assert.match(r.json.error.message, /longer than its 20 ms budget/);
    assert.ok(took < 90, `answered after ${took.toFixed(0)} ms, not at the 20 ms budget`);
    const m = await http(apiUrl, 'GET', '/metrics', { token: env.adminApiKey });
    assert.match(m.text, new RegExp(`modelyard_prediction_timeouts_total\\{model="${model}"\\} [1-9]`));
  });
});
