import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

/**
 * Feedback (ground truth) from hostile callers: malformed ids and labels, wrong types, oversized uploads and
 * headers, keys for other models, and labels aimed at another model's predictions. Every refusal is a clear 4xx
 * JSON error and nothing of a refused upload is stored.
 */
const env = e2eEnv();
const admin = (method: string, p: string, body?: unknown, headers?: Record<string, string>) =>
  http(env.apiUrl, method, p, { token: env.adminApiKey, body, headers });
const row = records(samples('iris_logreg'))[0]!;

async function predictKey(models: string[]) {
  const sa = await admin('POST', '/v1/service-accounts', { name: uniqueId('fb-sec'), role: 'viewer' });
  const k = await admin('POST', '/v1/api-keys', {
    name: 'k',
    scopes: ['predict'],
    serviceAccountId: sa.json.id,
    modelAllowList: models,
  });
  assert.equal(k.status, 201, k.text);
  return k.json.secret as string;
}

describe('feedback: hostile input', () => {
  let model: string;
  let other: string;
  before(async () => {
    model = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg')).model;
    other = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg')).model;
  });

  it('refuses malformed ids, wrong label types, bad files and media types with a 4xx naming the problem', async () => {
    const url = `/v1/models/${model}/feedback`;
    const cases: [unknown, string, number, RegExp][] = [
      [{ predictionId: 'not-a-uuid', label: 1 }, 'application/json', 400, /predictionId/],
      [{ predictionId: "1' OR '1'='1", label: 1 }, 'application/json', 400, /predictionId/],
      [{ label: 1 }, 'application/json', 400, /either predictionId or entityId/],
      [{ entityId: 'a b', label: 1 }, 'application/json', 400, /entityId/],
      [{ entityId: 'x'.repeat(129), label: 1 }, 'application/json', 400, /entityId/],
      [{ entityId: 'x', label: { nested: true } }, 'application/json', 400, /label/],
      [{ entityId: 'x', label: 'y'.repeat(257) }, 'application/json', 400, /label/],
      [{ entityId: 'x', label: 1, extra: 1 }, 'application/json', 400, /extra/],
      [{ labels: 'all of them' }, 'application/json', 400, /labels/],
      [[1, 2, 3], 'application/json', 400, /body/],
      ['predictionId,label\nnot-a-uuid,1', 'text/csv', 400, /line 2/],
      ['color,label\nred,1', 'text/csv', 400, /header/],
      ['{"entityId":"ok","label":1}\n{not json', 'application/x-ndjson', 400, /line 2: not valid JSON/],
      // Refused by the framework before the route: no parser takes the type.
      ['<labels/>', 'application/xml', 415, /Unsupported Media Type/i],
      ['labels', 'text/plain', 415, /application\/json, text\/csv/],
    ];
    for (const [body, type, status, message] of cases) {
      const r = await admin('POST', url, body, { 'content-type': type });
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
      assert.match(r.json.error.message, message);
    }
    // The CSV's good first line was not stored: a refused upload stores nothing.
    const partial = await admin('POST', url, 'entityId,label\nkept-not,1\nbad id,2', { 'content-type': 'text/csv' });
    assert.equal(partial.status, 400);
    const again = await admin('POST', url, { entityId: 'kept-not', label: 1 });
    assert.deepEqual([again.json.stored, again.json.replaced], [1, 0]);
  });

  it('refuses uploads over the body limit or the label limit, and an oversized X-Entity-Id', async () => {
    const url = `/v1/models/${model}/feedback`;
    const big = { labels: Array.from({ length: 50_001 }, (_, i) => ({ entityId: `e${i}`, label: 1 })) };
    const r = await admin('POST', url, big);
    assert.equal(r.status, 413, r.text);
    assert.equal(r.json.error.code, 'PAYLOAD_TOO_LARGE');
    const manyIds = Array.from({ length: 10_001 }, (_, i) => `e${i}`).join(',');
    const p = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
      token: env.adminApiKey,
      body: { payload: [row] },
      headers: { 'x-entity-id': manyIds },
    });
    assert.ok(p.status === 400 || p.status === 431, `${p.status} ${p.text}`);
    const bad = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
      token: env.adminApiKey,
      body: { payload: [row] },
      headers: { 'x-entity-id': 'has space' },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /X-Entity-Id/);
  });

  it("refuses a key whose allow-list leaves the model out, and a label sent to another model never scores this one's", async () => {
    const key = await predictKey([other]);
    const refused = await http(env.apiUrl, 'POST', `/v1/models/${model}/feedback`, {
      token: key,
      body: { entityId: 'x', label: 1 },
    });
    assert.equal(refused.status, 403, refused.text);
    const p = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
      token: env.adminApiKey,
      body: { payload: [row] },
    });
    const predictionId = p.headers.get('x-prediction-id')!;
    const own = await http(env.apiUrl, 'POST', `/v1/models/${other}/feedback`, {
      token: key,
      body: { predictionId, label: 0 },
    });
    assert.equal(own.status, 200, own.text);
    assert.equal(own.json.matched, 0, 'the prediction is not one of this model');
    // Once the prediction is in the log, the first model's report still has it unlabelled.
    for (let i = 0; i < 60; i++) {
      const rep = await admin('GET', `/v1/models/${model}/performance`);
      const prod = rep.json.byVersion.find((s: { role: string }) => s.role === 'production');
      if (prod?.predictions >= 1) {
        assert.equal(prod.labelled, 0);
        return;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.fail('the prediction never reached the log');
  });
});
