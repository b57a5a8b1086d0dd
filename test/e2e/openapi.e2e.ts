import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, openApiResponses } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

const env = e2eEnv();
const api = (method: string, p: string, opts: Parameters<typeof http>[3] = {}) => http(env.apiUrl, method, p, opts);

/**
 * The launched api's answers against its own OpenAPI document: the predict routes of all four formats (by
 * model, version and alias, through the predict router), the protocols' metadata and
 * status routes, and their errors. The document's schemas are what generated clients trust.
 */
describe('the OpenAPI document against real answers', () => {
  let check: ReturnType<typeof openApiResponses>;
  let model: string;
  const token = env.adminApiKey;
  const rows = records(samples('iris_logreg')).slice(0, 3);
  const columns = Object.keys(rows[0]!);
  /** Calls a documented route (its path filled in with the test's model, version 1 and alias) and checks the answer. */
  type Opts = Parameters<typeof http>[3];
  const fits = async (method: string, docPath: string, opts: Opts = {}, status = 200, url?: string) => {
    url ??= docPath
      .replace('{name}', model)
      .replace('{version}', '1')
      .replace(/\{(alias|label)\}/, 'champion');
    const res = await api(method, url, { token, ...opts });
    const what = `${method} ${url}: ${res.text.slice(0, 300)}`;
    assert.equal(res.status, status, what);
    assert.deepEqual(check.check(method, docPath, res.status, res.json), [], what);
    return res.json;
  };

  before(async () => {
    const doc = await api('GET', '/docs/openapi.json');
    assert.equal(doc.status, 200);
    check = openApiResponses(doc.json);
    ({ model } = await registerFixture(env.apiUrl, token, 'iris_logreg'));
    const alias = await api('PUT', `/v1/models/${model}/aliases/champion`, { token, body: { version: 1 } });
    assert.equal(alias.status, 200, alias.text);
  });

  it('answers the Modelyard predict routes (model, version, alias) as documented', async () => {
    const body = { body: { payload: rows } };
    const answer = await fits('POST', '/v1/models/{name}/predict', body);
    assert.equal(answer.predictions.length, 3);
    await fits('POST', '/v1/models/{name}/versions/{version}/predict', body);
    await fits('POST', '/v1/models/{name}/aliases/{alias}/predict', body);
  });

  it('answers the OIP v2 routes (infer, metadata, readiness) as documented', async () => {
    const meta = await fits('GET', '/v2/models/{name}');
    const input = meta.inputs[0];
    const body = {
      body: {
        inputs: [
          {
            name: input.name,
            shape: [3, columns.length],
            datatype: input.datatype,
            data: rows.flatMap((r) => columns.map((c) => r[c]!)),
          },
        ],
      },
    };
    const out = await fits('POST', '/v2/models/{name}/infer', body);
    assert.ok(out.outputs.length >= 1);
    await fits('POST', '/v2/models/{name}/versions/{version}/infer', body);
    await fits('GET', '/v2/models/{name}/versions/{version}');
    await fits('GET', '/v2/models/{name}/ready');
    await fits('GET', '/v2');
    await fits('GET', '/v2/health/ready');
  });

  it('answers the TF Serving routes (predict by model, version, label; status; metadata) as documented', async () => {
    const instances = { body: { instances: rows } };
    await fits('POST', '/v1/models/{name}:predict', instances);
    await fits('POST', '/v1/models/{name}/versions/{version}:predict', instances);
    await fits('POST', '/v1/models/{name}/labels/{label}:predict', instances);
    const columnar = { body: { inputs: rows.map((r) => columns.map((c) => r[c])) } };
    await fits('POST', '/v1/models/{name}:predict', columnar);
    await fits('GET', '/v1/models/{name}/labels/{label}');
    await fits('GET', '/v1/models/{name}/metadata');
    await fits('GET', '/v1/models/{name}/versions/{version}/metadata');
  });

  it('answers MLflow scoring (JSON and CSV) as documented', async () => {
    const split = { body: { dataframe_split: { columns, data: rows.map((r) => columns.map((c) => r[c])) } } };
    await fits('POST', '/v1/models/{name}/invocations', split);
    await fits('POST', '/v1/models/{name}/invocations', { body: { dataframe_records: rows } });
    await fits('POST', '/v1/models/{name}/aliases/{alias}/invocations', { body: { dataframe_records: rows } });
    const csv = [columns.join(','), ...rows.map((r) => columns.map((c) => r[c]).join(','))].join('\n');
    await fits('POST', '/v1/models/{name}/invocations', {
      body: csv,
      headers: { 'content-type': 'text/csv' },
    });
  });

  it("answers errors in each format's documented shape", async () => {
    const bad = { body: { nonsense: true } };
    await fits('POST', '/v1/models/{name}/predict', bad, 400);
    await fits('POST', '/v2/models/{name}/infer', bad, 400);
    await fits('POST', '/v1/models/{name}:predict', bad, 400);
    await fits('POST', '/v1/models/{name}/invocations', bad, 400);
    const nowhere = '/v1/models/no-such-model-anywhere/predict';
    await fits('POST', '/v1/models/{name}/predict', { body: { payload: rows } }, 404, nowhere);
    await fits('POST', '/v1/models/{name}/predict', { ...bad, token: `my_aaaaaaaa_${'b'.repeat(40)}` }, 401);
  });

  it("answers the registry's version and job routes as documented", async () => {
    await fits('GET', '/v1/models/{name}/versions/{version}');
    await fits('GET', '/v1/models/{name}');
    const queued = await fits('POST', '/v1/models/{name}/predict:async', { body: { payload: rows } }, 202);
    await fits('GET', '/v1/jobs/{id}', {}, 200, `/v1/jobs/${queued.jobId}`);
    await fits('GET', '/v1/jobs', {}, 200, '/v1/jobs?limit=5');
  });
});
