import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const { apiUrl, adminApiKey: admin } = e2eEnv();

/**
 * What a caller cannot make the explain route do: bad input gets a 4xx naming the problem (never a 500), the
 * rows per request are capped, the caller needs the predict permission on that model, and explanations have
 * their own slots: past them a 429, while plain predictions keep being answered.
 */
describe('explain route: input checks, limits and authorization', () => {
  let model = '';
  const iris = records(samples('iris_rf'));
  const explain = (body: unknown, token = admin, name = model) =>
    http(apiUrl, 'POST', `/v1/models/${name}/explain`, { token, body });

  before(async () => {
    model = (await registerFixture(apiUrl, admin, 'iris_rf', { reference: true })).model;
  });

  it('more rows than EXPLAIN_MAX_ROWS (20) answer 400 before anything is computed', async () => {
    const res = await explain({ payload: Array.from({ length: 21 }, (_, i) => iris[i % iris.length]) });
    assert.equal(res.status, 400, res.text);
    assert.match(res.json.error.message, /Too many rows: 21/);
  });

  it('predict?explain=true with more rows than EXPLAIN_MAX_ROWS answers 400', async () => {
    const payload = Array.from({ length: 21 }, (_, i) => iris[i % iris.length]);
    const res = await http(apiUrl, 'POST', `/v1/models/${model}/predict?explain=true`, {
      token: admin,
      body: { payload },
    });
    assert.equal(res.status, 400, res.text);
    assert.match(res.json.error.message, /Too many rows to explain: 21/);
  });

  it('a row with the wrong number of features answers 400', async () => {
    const res = await explain({ payload: [[5.1, 3.5, 1.4]] });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error.code, 'BAD_REQUEST');
  });

  it('a missing feature, a string, a null or an out-of-range number answer 400; JSON NaN is not JSON (400)', async () => {
    const row = iris[0]!;
    for (const bad of [
      { ...row, petal_width: undefined },
      { ...row, petal_width: 'NaN' },
      { ...row, petal_width: null },
      { ...row, petal_width: 1e39 },
    ]) {
      const res = await explain({ payload: [bad] });
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
    }
    const raw = await fetch(`${apiUrl}/v1/models/${model}/explain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{"payload":[{"sepal_length":NaN,"sepal_width":1,"petal_length":1,"petal_width":1}]}',
    });
    assert.equal(raw.status, 400);
  });

  it('an empty payload, a payload that is not a list, and an oversized body answer 4xx', async () => {
    assert.equal((await explain({ payload: [] })).status, 400);
    assert.equal((await explain({ payload: 'rows' })).status, 400);
    const big = await explain({ payload: [iris[0]], pad: 'x'.repeat(2 * 1024 * 1024) });
    assert.equal(big.status, 413, big.text);
  });

  it('needs the predict permission on that model: no key 401, a key of another model or scope 403', async () => {
    assert.equal(
      (await http(apiUrl, 'POST', `/v1/models/${model}/explain`, { body: { payload: [iris[0]] } })).status,
      401,
    );
    const sa = await http(apiUrl, 'POST', '/v1/service-accounts', {
      token: admin,
      body: { name: `explain-sa-${Date.now()}`, role: 'admin' },
    });
    assert.equal(sa.status, 201, sa.text);
    const keyOf = async (body: Record<string, unknown>) => {
      const k = await http(apiUrl, 'POST', '/v1/api-keys', {
        token: admin,
        body: { name: 'explain', serviceAccountId: sa.json.id, ...body },
      });
      assert.equal(k.status, 201, k.text);
      return k.json.secret as string;
    };
    const otherModel = await keyOf({ scopes: ['predict'], modelAllowList: ['some-other-model'] });
    const readOnly = await keyOf({ scopes: ['models:read'] });
    const allowed = await keyOf({ scopes: ['predict'], modelAllowList: [model] });
    assert.equal((await explain({ payload: [iris[0]] }, otherModel)).status, 403);
    assert.equal((await explain({ payload: [iris[0]] }, readOnly)).status, 403);
    assert.equal((await explain({ payload: [iris[0]] }, allowed)).status, 200);
  });

  it('an unknown model answers 404', async () => {
    const res = await explain({ payload: [iris[0]] }, admin, 'no-such-model-for-explain');
    assert.equal(res.status, 404, res.text);
  });
});

describe('explanations have their own slots and never hold up predictions', () => {
  let api: AppProcess | undefined;
  let url = '';
  let digits = '';

  before(async () => {
    digits = (await registerFixture(apiUrl, admin, 'digits_mlp', { reference: true })).model;
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // One explanation at a time, none waiting, and many samples: one digits explanation takes a while.
    api = startApp('api-explain', 'api', {
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      EXPLAIN_MAX_CONCURRENCY: '1',
      EXPLAIN_QUEUE: '0',
      EXPLAIN_SAMPLES: '10000',
    });
    await waitReady(`${url}/readyz`, api);
  });

  after(async () => {
    await api?.kill();
  });

  it('a second explanation while one computes answers 429; predictions meanwhile answer 200', async () => {
    const x = samples('digits_mlp').input_data;
    const row = (Object.values(x)[0] as number[][])[0]!;
    const slow = http(url, 'POST', `/v1/models/${digits}/explain`, { token: admin, body: { payload: [row] } });
    await new Promise((r) => setTimeout(r, 300));
    const second = await http(url, 'POST', `/v1/models/${digits}/explain`, { token: admin, body: { payload: [row] } });
    assert.equal(second.status, 429, second.text);
    for (let i = 0; i < 5; i++) {
      const p = await http(url, 'POST', `/v1/models/${digits}/predict`, { token: admin, body: { payload: [row] } });
      assert.equal(p.status, 200, p.text);
    }
    const first = await slow;
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.method, 'sampled');
  });
});
