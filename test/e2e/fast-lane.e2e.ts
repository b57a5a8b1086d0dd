import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();

/**
 * The fast lane (apps/api/src/serving/fast-lane.ts) answers API-key predictions in front of Nest; a query
 * string makes it step aside, so the same request can be sent down both paths and the answers compared.
 */
describe('serving: the fast lane answers exactly as the framework route', () => {
  let model: string;
  let version: number;
  let viewerKey: string;
  before(async () => {
    ({ model, version } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg'));
    await http(env.apiUrl, 'PUT', `/v1/models/${model}/aliases/champion`, {
      token: env.adminApiKey,
      body: { version },
    });
    // A key limited to another model: authenticated, but refused for this one.
    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
      token: env.adminApiKey,
      body: { name: uniqueId('lane'), role: 'viewer' },
    });
    const k = await http(env.apiUrl, 'POST', '/v1/api-keys', {
      token: env.adminApiKey,
      body: { name: 'lane', scopes: ['predict'], serviceAccountId: sa.json.id, modelAllowList: ['some-other-model'] },
    });
    assert.equal(k.status, 201, k.text);
    viewerKey = k.json.secret;
  });

  /** The same request twice, with the same request id: through the lane, then (with a query string) through Nest. */
  const both = async (path: string, body: unknown, opts: { token?: string; headers?: Record<string, string> } = {}) => {
    const id = uniqueId('parity');
    const lane = await http(env.apiUrl, 'POST', path, {
      token: opts.token ?? env.adminApiKey,
      body,
      headers: { 'x-request-id': id, ...opts.headers },
    });
    const framework = await http(env.apiUrl, 'POST', `${path}?via=framework`, {
      token: opts.token ?? env.adminApiKey,
      body,
      headers: { 'x-request-id': id, ...opts.headers },
    });
    return { lane, framework };
  };
  const comparable = (r: Awaited<ReturnType<typeof http>>) => ({
    status: r.status,
    contentType: r.headers.get('content-type'),
    version: r.headers.get('x-model-version'),
    role: r.headers.get('x-deployment-role'),
    requestId: r.headers.get('x-request-id'),
    inferenceHeader: r.headers.get('inference-header-content-length'),
    body: r.json ?? r.text,
  });

  const s = samples('iris_logreg');
  const row = () => records(s)[0]!;
  const oip = (data: unknown, extra: object = {}) => ({
    inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data }],
    ...extra,
  });
  type Case = [string, () => string, () => unknown, { token?: () => string; headers?: Record<string, string> }?];
  const m = () => `/v1/models/${model}`;
  const cases: Case[] = [
    ['a good request (Production)', () => `${m()}/predict`, () => ({ payload: records(s).slice(0, 3) })],
    ['a version', () => `${m()}/versions/${version}/predict`, () => ({ payload: records(s).slice(0, 1) })],
    ['an alias', () => `${m()}/aliases/champion/predict`, () => ({ payload: records(s).slice(0, 1) })],
    ['rows as arrays', () => `${m()}/predict`, () => ({ payload: [[5.1, 3.5, 1.4, 0.2]] })],
    ['a missing feature', () => `${m()}/predict`, () => ({ payload: [{ sepal_length: 1 }] })],
    ['a string for a number', () => `${m()}/predict`, () => ({ payload: [{ ...row(), petal_width: 'wide' }] })],
    ['no payload', () => `${m()}/predict`, () => ({ rows: [] })],
    ['a JSON array body', () => `${m()}/predict`, () => '[1,2]'],
    ['malformed JSON', () => `${m()}/predict`, () => '{"payload": [ {'],
    [
      'a __proto__ key',
      () => `${m()}/predict`,
      () => '{"payload":[{"sepal_length":1,"sepal_width":1,"petal_length":1,"petal_width":1}],"__proto__":{"x":1}}',
    ],
    ['an unknown version', () => `${m()}/versions/999/predict`, () => ({ payload: records(s).slice(0, 1) })],
    ['an unknown alias', () => `${m()}/aliases/nobody/predict`, () => ({ payload: records(s).slice(0, 1) })],
    [
      'an alias that looks like a stage',
      () => `${m()}/aliases/production/predict`,
      () => ({ payload: records(s).slice(0, 1) }),
    ],
    ['an unknown model', () => '/v1/models/no-such-model-here/predict', () => ({ payload: records(s).slice(0, 1) })],
    [
      'a revoked or unknown key',
      () => `${m()}/predict`,
      () => ({ payload: records(s).slice(0, 1) }),
      { token: () => 'my_' + 'x'.repeat(40) },
    ],
    [
      'a key for another model',
      () => `${m()}/predict`,
      () => ({ payload: records(s).slice(0, 1) }),
      { token: () => viewerKey },
    ],
    ['OIP v2 infer', () => `/v2/models/${model}/infer`, () => oip([5.1, 3.5, 1.4, 0.2])],
    [
      'OIP v2 infer with an id and an outputs filter, by version',
      () => `/v2/models/${model}/versions/${version}/infer`,
      () => oip([[5.1, 3.5, 1.4, 0.2]], { id: 'req-7', outputs: [{ name: 'label' }] }),
    ],
    ['OIP v2 with a shape that does not match its data', () => `/v2/models/${model}/infer`, () => oip([5.1, 3.5, 1.4])],
    ['OIP v2 for an unknown version', () => `/v2/models/${model}/versions/999/infer`, () => oip([5.1, 3.5, 1.4, 0.2])],
    ['OIP v2 with malformed JSON', () => `/v2/models/${model}/infer`, () => '{"inputs": '],
    ['TF Serving instances', () => `${m()}:predict`, () => ({ instances: [[5.1, 3.5, 1.4, 0.2], row()] })],
    [
      'TF Serving columnar inputs, by version',
      () => `${m()}/versions/${version}:predict`,
      () => ({ inputs: { float_input: [[5.1, 3.5, 1.4, 0.2]] } }),
    ],
    ['TF Serving by label', () => `${m()}/labels/champion:predict`, () => ({ instances: [[5.1, 3.5, 1.4, 0.2]] })],
    ['TF Serving with neither instances nor inputs', () => `${m()}:predict`, () => ({ rows: [] })],
    [
      'MLflow dataframe_split',
      () => `${m()}/invocations`,
      () => ({ dataframe_split: { columns: Object.keys(row()), data: [Object.values(row())] } }),
    ],
    ['MLflow without a format key', () => `${m()}/invocations`, () => ({ data: [] })],
    [
      'MLflow CSV',
      () => `${m()}/invocations`,
      () => `${Object.keys(row()).join(',')}\n${Object.values(row()).join(',')}\n`,
      { headers: { 'content-type': 'text/csv' } },
    ],
    [
      'MLflow CSV in another charset',
      () => `${m()}/invocations`,
      () => 'a,b\n1,2\n',
      { headers: { 'content-type': 'text/csv; charset=latin1' } },
    ],
    [
      'MLflow with a content type it does not take',
      () => `${m()}/invocations`,
      () => 'x',
      { headers: { 'content-type': 'text/plain' } },
    ],
  ];
  for (const [what, path, body, opts] of cases) {
    it(`for ${what}`, async () => {
      const { lane, framework } = await both(path(), body(), { token: opts?.token?.(), headers: opts?.headers });
      assert.deepEqual(comparable(lane), comparable(framework), `lane: ${lane.text}\nframework: ${framework.text}`);
    });
  }

  it('answers a JSON OIP request that asks for binary outputs with raw tensors, alike on both paths', async () => {
    const body = oip([5.1, 3.5, 1.4, 0.2], { id: 'req-bin', parameters: { binary_data_output: true } });
    const { lane, framework } = await both(`/v2/models/${model}/infer`, body);
    assert.equal(lane.status, 200, lane.text);
    assert.equal(lane.headers.get('content-type'), 'application/octet-stream');
    const n = Number(lane.headers.get('inference-header-content-length'));
    const header = JSON.parse(lane.text.slice(0, n)) as { outputs: { name: string; parameters: object }[] };
    assert.deepEqual(
      header.outputs.map((o) => [o.name, o.parameters]),
      [
        ['label', { binary_data_size: 8 }],
        ['probabilities', { binary_data_size: 12 }],
      ],
    );
    assert.deepEqual(comparable(lane), comparable(framework));
  });

  it('counts both paths in the same metric series (route labels included), and the lane took one of them', async () => {
    const series = async () => {
      const t = (await http(env.apiUrl, 'GET', '/metrics', { token: env.adminApiKey })).text;
      const lines = t
        .split('\n')
        .filter(
          (l) =>
            (l.startsWith('modelyard_request_duration_seconds_count{') && l.includes(`model="${model}"`)) ||
            l.startsWith('modelyard_fast_lane_requests_total{'),
        );
      return new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
    };
    for (const [path, body] of [
      [`${m()}/predict`, { payload: [row()] }],
      [`/v2/models/${model}/infer`, oip([5.1, 3.5, 1.4, 0.2])],
      [`${m()}:predict`, { instances: [[5.1, 3.5, 1.4, 0.2]] }],
      [`${m()}/invocations`, { instances: [[5.1, 3.5, 1.4, 0.2]] }],
    ] as const) {
      const before = await series();
      const { lane, framework } = await both(path, body);
      assert.equal(lane.status, 200, lane.text);
      assert.equal(framework.status, 200, framework.text);
      const after = await series();
      const moved = [...after]
        .filter(([k, v]) => v !== (before.get(k) ?? 0))
        .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const);
      const requests = moved.filter(([k]) => k.startsWith('modelyard_request_duration'));
      assert.equal(requests.length, 1, `one series for both paths of ${path}: ${JSON.stringify(moved)}`);
      assert.equal(requests[0]![1], 2, path);
      // The lane's own count moved by one: it answered the first request and let the second (?via=framework) through.
      const laneCount = moved.filter(([k]) => k.startsWith('modelyard_fast_lane_requests_total'));
      assert.deepEqual(
        laneCount.map(([, n]) => n),
        [1],
        `${path}: ${JSON.stringify(moved)}`,
      );
    }
  });

  it("keeps a caller's request id and counts its answers in /metrics on the lane's route label", async () => {
    const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
      token: env.adminApiKey,
      body: { payload: records(s).slice(0, 1) },
      headers: { 'x-request-id': 'lane-check-1' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-request-id'), 'lane-check-1');
    const m = await http(env.apiUrl, 'GET', '/metrics', { token: env.adminApiKey });
    assert.match(
      m.text,
      new RegExp(
        `modelyard_request_duration_seconds_count\\{model="${model}",version="${version}",format="modelyard",role="production",route="/v1/models/:name/predict",status="200"\\} [1-9]`,
      ),
    );
  });
});

/**
 * PREDICT_TIMEOUT_MS on both paths: a model whose micro-batcher waits 100 ms for company cannot answer within a
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

  for (const [path, query] of [
    ['lane', ''],
    ['framework', '?via=framework'],
  ] as const) {
    it(`answers 503 at the budget on the ${path} path, and counts it`, async () => {
      const body = { payload: records(samples('iris_logreg')).slice(0, 1) };
      // A batch still waiting from an earlier request would take this one in and answer it early: let it go.
      await new Promise((r) => setTimeout(r, 150));
      const t = performance.now();
      const r = await http(apiUrl, 'POST', `/v1/models/${model}/predict${query}`, { token: env.adminApiKey, body });
      const took = performance.now() - t;
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json.error.code, 'NOT_READY');
      assert.match(r.json.error.message, /longer than its 20 ms budget/);
      assert.ok(took < 90, `answered after ${took.toFixed(0)} ms, not at the 20 ms budget`);
      const m = await http(apiUrl, 'GET', '/metrics', { token: env.adminApiKey });
      assert.match(m.text, new RegExp(`modelyard_prediction_timeouts_total\\{model="${model}"\\} [1-9]`));
    });
  }
});
