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
    await http(env.apiUrl, 'PUT', `/v1/models/${model}/aliases/champion`, { token: env.adminApiKey, body: { version } });
    // A key limited to another model: authenticated, but refused for this one.
    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', { token: env.adminApiKey, body: { name: uniqueId('lane'), role: 'viewer' } });
    const k = await http(env.apiUrl, 'POST', '/v1/api-keys', { token: env.adminApiKey, body: { name: 'lane', scopes: ['predict'], serviceAccountId: sa.json.id, modelAllowList: ['some-other-model'] } });
    assert.equal(k.status, 201, k.text);
    viewerKey = k.json.secret;
  });

  const both = async (suffix: string, body: unknown, opts: { token?: string; headers?: Record<string, string> } = {}) => {
    const send = (query: string) => http(env.apiUrl, 'POST', `/v1/models/${model}${suffix}/predict${query}`, { token: opts.token ?? env.adminApiKey, body, headers: opts.headers });
    return { lane: await send(''), framework: await send('?via=framework') };
  };
  const comparable = (r: Awaited<ReturnType<typeof http>>) => ({
    status: r.status,
    contentType: r.headers.get('content-type'),
    version: r.headers.get('x-model-version'),
    role: r.headers.get('x-deployment-role'),
    // errorId is the request id: different per request, so compared by its presence only.
    body: r.json?.error ? { ...r.json.error, errorId: typeof r.json.error.errorId } : r.json,
  });

  const s = samples('iris_logreg');
  const cases: [string, string, () => unknown, { token?: () => string; headers?: Record<string, string> }?][] = [
    ['a good request (Production)', '', () => ({ payload: records(s).slice(0, 3) })],
    ['a version', `/versions/1`, () => ({ payload: records(s).slice(0, 1) })],
    ['an alias', '/aliases/champion', () => ({ payload: records(s).slice(0, 1) })],
    ['rows as arrays', '', () => ({ payload: [[5.1, 3.5, 1.4, 0.2]] })],
    ['a missing feature', '', () => ({ payload: [{ sepal_length: 1 }] })],
    ['a string for a number', '', () => ({ payload: [{ ...records(s)[0], petal_width: 'wide' }] })],
    ['no payload', '', () => ({ rows: [] })],
    ['a JSON array body', '', () => '[1,2]'],
    ['malformed JSON', '', () => '{"payload": [ {'],
    ['a __proto__ key', '', () => '{"payload":[{"sepal_length":1,"sepal_width":1,"petal_length":1,"petal_width":1}],"__proto__":{"x":1}}'],
    ['an unknown version', '/versions/999', () => ({ payload: records(s).slice(0, 1) })],
    ['an unknown alias', '/aliases/nobody', () => ({ payload: records(s).slice(0, 1) })],
    ['a revoked or unknown key', '', () => ({ payload: records(s).slice(0, 1) }), { token: () => 'my_' + 'x'.repeat(40) }],
    ['a key for another model', '', () => ({ payload: records(s).slice(0, 1) }), { token: () => viewerKey }],
  ];
  for (const [what, suffix, body, opts] of cases) {
    it(`for ${what}`, async () => {
      const { lane, framework } = await both(suffix, body(), { token: opts?.token?.(), headers: opts?.headers });
      assert.deepEqual(comparable(lane), comparable(framework), `lane: ${lane.text}\nframework: ${framework.text}`);
      assert.ok(lane.headers.get('x-request-id'), 'the lane sends X-Request-Id');
    });
  }

  it('keeps a caller\'s request id and counts its answers in /metrics on the lane\'s route label', async () => {
    const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, { token: env.adminApiKey, body: { payload: records(s).slice(0, 1) }, headers: { 'x-request-id': 'lane-check-1' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-request-id'), 'lane-check-1');
    const m = await http(env.apiUrl, 'GET', '/metrics', { token: env.adminApiKey });
    assert.match(m.text, new RegExp(`modelyard_request_duration_seconds_count\\{model="${model}",version="${version}",format="modelyard",role="production",route="/v1/models/:name/predict",status="200"\\} [1-9]`));
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
    const patch = await http(env.apiUrl, 'PATCH', `/v1/models/${model}`, { token: env.adminApiKey, body: { servingConfig: { microBatch: { maxBatchRows: 64, maxWaitUs: 100_000 } } } });
    assert.equal(patch.status, 200, patch.text);
    const port = await freePort();
    api = startApp('api-budget', 'api', { API_PORT: String(port), PREDICT_TIMEOUT_MS: '20', REDIS_PREFIX: uniqueId('budget'), PREDICTION_LOG_SAMPLE_RATE: '0' });
    apiUrl = `http://127.0.0.1:${port}`;
    await waitReady(`${apiUrl}/readyz`, api);
    // Loads the model in this process (outside the budget, which covers the run only).
    await http(apiUrl, 'GET', `/v1/models/${model}`, { token: env.adminApiKey });
  });
  after(async () => { await api?.kill(); });

  for (const [path, query] of [['lane', ''], ['framework', '?via=framework']] as const) {
    it(`answers 503 at the budget on the ${path} path, and counts it`, async () => {
      const body = { payload: records(samples('iris_logreg')).slice(0, 1) };
      // The first call may still be loading the version; the budget is about the run.
      await http(apiUrl, 'POST', `/v1/models/${model}/predict${query}`, { token: env.adminApiKey, body });
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
