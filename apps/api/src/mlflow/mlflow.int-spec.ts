import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestApp, type TestApp } from '../test-support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const ONNX = readFileSync(path.join(root, 'test/fixtures/models/iris_logreg/model.onnx'));
// What mlflow.onnx.save_model writes (trimmed to what Modelyard reads).
const MLMODEL = `artifact_path: model
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_version: 1.17.0
    providers:
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    env:
      conda: conda.yaml
    loader_module: mlflow.onnx
mlflow_version: 3.11.2
`;
const SKLEARN_MLMODEL =
  'flavors:\n  sklearn:\n    pickled_model: model.pkl\n  python_function:\n    loader_module: mlflow.sklearn\n';

/**
 * The MLflow REST contract (mlflow/protos/model_registry.proto and service.proto) as an MLflow client sees it:
 * snake_case bodies, version numbers as strings, GET fields in the query, DELETE fields in a JSON body, errors as
 * `{"error_code", "message"}` with MLflow's codes. The in-process api has no worker, so versions stay
 * PENDING_REGISTRATION here; clients/python/tests/test_mlflow.py drives the real client through to serving.
 */
describe('MLflow REST API', () => {
  let t: TestApp;
  let token: string;
  const api = (method: string, p: string, body?: unknown, tok: string | null = token) =>
    t.request(method, `/api/2.0/mlflow/${p}`, { body, ...(tok && { token: tok }) });
  const put = (p: string, payload: Buffer | string, contentType: string, tok = token) =>
    t.app
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'PUT',
        url: `/api/2.0/mlflow-artifacts/artifacts/${p}`,
        headers: { authorization: `Bearer ${tok}`, 'content-type': contentType },
        payload,
      });
  const name = `mlf-${Math.random().toString(36).slice(2, 8)}`;
  let runId = '';

  before(async () => {
    t = await startTestApp({ MAX_UPLOAD_BYTES: String(64 * 1024) });
    token = (await t.keyWithScopes(['models:read', 'models:write'], 'scientist')).secret;
  });
  after(() => t.close());

  it('creates, reads, updates and tags a registered model, and answers a second create RESOURCE_ALREADY_EXISTS', async () => {
    const c = await api('POST', 'registered-models/create', {
      name,
      description: 'from MLflow',
      tags: [{ key: 'team', value: 'fraud' }],
    });
    assert.equal(c.status, 200, c.body);
    assert.equal(c.json.registered_model.name, name);
    assert.deepEqual(c.json.registered_model.tags, [{ key: 'team', value: 'fraud' }]);
    const again = await api('POST', 'registered-models/create', { name });
    assert.equal(again.status, 409);
    assert.equal(again.json.error_code, 'RESOURCE_ALREADY_EXISTS');
    assert.equal(typeof again.json.message, 'string');

    assert.equal((await api('PATCH', 'registered-models/update', { name, description: 'v2' })).status, 200);
    assert.equal((await api('POST', 'registered-models/set-tag', { name, key: 'stage', value: 'dev' })).status, 200);
    assert.equal((await api('DELETE', 'registered-models/delete-tag', { name, key: 'team' })).status, 200);
    const g = await api('GET', `registered-models/get?name=${name}`);
    assert.equal(g.status, 200);
    assert.equal(g.json.registered_model.description, 'v2');
    assert.deepEqual(g.json.registered_model.tags, [{ key: 'stage', value: 'dev' }]);
    assert.deepEqual(g.json.registered_model.latest_versions, []);

    const missing = await api('GET', 'registered-models/get?name=no-such-model-here');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('finds the model with a search filter and pages with next_page_token', async () => {
    // The filter as MlflowClient sends it: the user's clause and its own prompt exclusion.
    const filter = `name LIKE '${name}%' AND tag.\`mlflow.prompt.is_prompt\` != 'true'`;
    const s = await api('GET', `registered-models/search?filter=${encodeURIComponent(filter)}`);
    assert.equal(s.status, 200, s.body);
    assert.deepEqual(
      s.json.registered_models.map((m: { name: string }) => m.name),
      [name],
    );
    const byTag = await api(
      'GET',
      `registered-models/search?filter=${encodeURIComponent("tags.stage = 'dev'")}&max_results=1`,
    );
    assert.equal(byTag.status, 200);
    assert.equal(byTag.json.registered_models.length, 1);
    const bad = await api('GET', `registered-models/search?filter=${encodeURIComponent("name = 'x'; DROP TABLE")}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error_code, 'INVALID_PARAMETER_VALUE');
  });

  it('uploads an ONNX model under a run and registers it from runs:/ as a PENDING_REGISTRATION version', async () => {
    const r = await api('POST', 'runs/create', { experiment_id: '0', start_time: 1, tags: [] });
    assert.equal(r.status, 200, r.body);
    runId = r.json.run.info.run_id;
    assert.match(runId, /^[0-9a-f]{32}$/);
    assert.equal(r.json.run.info.artifact_uri, `mlflow-artifacts:/0/${runId}/artifacts`);
    const base = `0/${runId}/artifacts/model`;
    // MLflow guesses each file's content type; a .json or .yaml file must arrive as bytes, not be parsed.
    assert.equal((await put(`${base}/MLmodel`, MLMODEL, 'application/octet-stream')).statusCode, 200);
    assert.equal((await put(`${base}/model.onnx`, ONNX, 'application/octet-stream')).statusCode, 200);
    assert.equal((await put(`${base}/meta.json`, '{"a": 1}', 'application/json')).statusCode, 200);

    const list = await t.request('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${base}`, { token });
    assert.equal(list.status, 200, list.body);
    assert.deepEqual(list.json.files, [
      { path: 'MLmodel', is_dir: false, file_size: Buffer.byteLength(MLMODEL) },
      { path: 'meta.json', is_dir: false, file_size: 8 },
      { path: 'model.onnx', is_dir: false, file_size: ONNX.length },
    ]);
    const top = await t.request('GET', `/api/2.0/mlflow-artifacts/artifacts?path=0/${runId}/artifacts`, { token });
    assert.deepEqual(top.json.files, [{ path: 'model', is_dir: true }]);
    const got = await t.request('GET', `/api/2.0/mlflow-artifacts/artifacts/${base}/meta.json`, { token });
    assert.equal(got.body, '{"a": 1}');

    const v = await api('POST', 'model-versions/create', {
      name,
      source: `runs:/${runId}/model`,
      run_id: runId,
      tags: [{ key: 'git', value: 'abc123' }],
    });
    assert.equal(v.status, 200, v.body);
    assert.equal(v.json.model_version.version, '1');
    assert.equal(v.json.model_version.status, 'PENDING_REGISTRATION');
    assert.equal(v.json.model_version.run_id, runId);
    assert.equal(v.json.model_version.source, `runs:/${runId}/model`);
    // The registry copied the ONNX file: the native API serves the same bytes.
    const native = await t.request('GET', `/v1/models/${name}/versions/1/artifact`, { token });
    assert.equal(native.status, 200);
    assert.equal(native.headers['content-length'], String(ONNX.length));
  });

  it('reads versions back, tags them, sets an alias, and searches them by run_id', async () => {
    const v2 = await api('POST', 'model-versions/create', {
      name,
      source: `mlflow-artifacts:/0/${runId}/artifacts/model`,
    });
    assert.equal(v2.json.model_version.version, '2');
    assert.equal(
      (await api('POST', 'model-versions/set-tag', { name, version: '2', key: 'k', value: 'v' })).status,
      200,
    );
    assert.equal((await api('POST', 'registered-models/alias', { name, alias: 'champion', version: '2' })).status, 200);
    const byAlias = await api('GET', `registered-models/alias?name=${name}&alias=champion`);
    assert.equal(byAlias.status, 200, byAlias.body);
    assert.equal(byAlias.json.model_version.version, '2');
    assert.deepEqual(byAlias.json.model_version.aliases, ['champion']);
    assert.deepEqual(byAlias.json.model_version.tags, [{ key: 'k', value: 'v' }]);

    // max_results=10000 is what MlflowClient.search_model_versions asks for by default
    const q = `filter=${encodeURIComponent(`run_id = '${runId}'`)}&max_results=10000`;
    const s = await api('GET', `model-versions/search?${q}`);
    assert.equal(s.status, 200, s.body);
    assert.deepEqual(
      s.json.model_versions.map((v: { version: string }) => v.version),
      ['2', '1'],
    );
    const m = await api('GET', `registered-models/get?name=${name}`);
    assert.deepEqual(m.json.registered_model.aliases, [{ alias: 'champion', version: '2' }]);
    assert.deepEqual(
      m.json.registered_model.latest_versions.map((v: { version: string; current_stage: string }) => [
        v.version,
        v.current_stage,
      ]),
      [['2', 'None']],
    );
    const uri = await api('GET', `model-versions/get-download-uri?name=${name}&version=1`);
    assert.equal(uri.json.artifact_uri, `mlflow-artifacts:/0/${runId}/artifacts/model`);

    // An alias that exists may be serving traffic: removing (or moving) it is a promotion (models:promote).
    const refused = await api('DELETE', 'registered-models/alias', { name, alias: 'champion' });
    assert.equal(refused.json.error_code, 'PERMISSION_DENIED');
    const approver = (await t.keyWithScopes(['models:read', 'models:write', 'models:promote'], 'approver')).secret;
    assert.equal((await api('DELETE', 'registered-models/alias', { name, alias: 'champion' }, approver)).status, 200);
    const gone = await api('GET', `registered-models/alias?name=${name}&alias=champion`);
    assert.equal(gone.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('keeps stage rules: a version still being validated cannot go to Staging (INVALID_STATE)', async () => {
    const r = await api('POST', 'model-versions/transition-stage', { name, version: '1', stage: 'staging' });
    assert.equal(r.status, 409);
    assert.equal(r.json.error_code, 'INVALID_STATE');
    const bad = await api('POST', 'model-versions/transition-stage', { name, version: '1', stage: 'Prod' });
    assert.equal(bad.json.error_code, 'INVALID_PARAMETER_VALUE');
  });

  it('refuses hostile artifact paths, sources and names with INVALID_PARAMETER_VALUE and stores nothing', async () => {
    for (const p of [
      `0/${runId}/artifacts/../../../etc/passwd`,
      `0/${runId}/artifacts/%2e%2e/x`,
      `0/${runId}/artifacts/a%5C..%5Cb`,
      `0/${runId}/artifacts/a%00b`,
      `0/${runId}/other/x`,
      `0/${'0'.repeat(32)}/artifacts/x`,
      // Encoded so that no URL normalisation on the way removes them: the route sees `../` after decoding.
      `%2E%2E%2F${runId}/artifacts/x`,
      `0/${runId}/artifacts/a%2F..%2F..%2F..%2Fb`,
    ]) {
      const r = await put(p, 'x', 'text/plain');
      assert.ok([400, 404].includes(r.statusCode), `${p}: ${r.statusCode} ${r.body}`);
      assert.match(JSON.parse(r.body).error_code, /INVALID_PARAMETER_VALUE|RESOURCE_DOES_NOT_EXIST/, p);
    }
    for (const source of [
      `runs:/${runId}/../../model`,
      `file:///etc/passwd`,
      `s3://bucket/key`,
      'models:/m-123',
      `mlflow-artifacts:/0/${runId}/artifacts/nothing-here`,
    ]) {
      const r = await api('POST', 'model-versions/create', { name, source });
      assert.equal(r.status, 400, `${source}: ${r.body}`);
      assert.equal(r.json.error_code, 'INVALID_PARAMETER_VALUE', source);
    }
    for (const bad of ['Has Upper', '../x', 'a'.repeat(300), '']) {
      const r = await api('POST', 'registered-models/create', { name: bad });
      assert.equal(r.status, 400, bad);
      assert.equal(r.json.error_code, 'INVALID_PARAMETER_VALUE');
    }
    const alias = await api('POST', 'registered-models/alias', { name, alias: 'v3', version: '1' });
    assert.equal(alias.json.error_code, 'INVALID_PARAMETER_VALUE');
  });

  it('refuses a model without an onnx flavor, naming its flavors', async () => {
    const r = await api('POST', 'runs/create', {});
    const id = r.json.run.info.run_id;
    await put(`0/${id}/artifacts/sk/MLmodel`, SKLEARN_MLMODEL, 'application/octet-stream');
    const v = await api('POST', 'model-versions/create', { name, source: `runs:/${id}/sk` });
    assert.equal(v.status, 400);
    assert.equal(v.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(v.json.message, /no onnx flavor \(it has sklearn, python_function\)/);
  });

  it('holds uploads to MAX_UPLOAD_BYTES (413) and leaves nothing behind', async () => {
    const big = Buffer.alloc(64 * 1024 + 1, 1);
    const r = await put(`0/${runId}/artifacts/big/model.onnx`, big, 'application/octet-stream');
    assert.equal(r.statusCode, 413, r.body);
    assert.equal(JSON.parse(r.body).error_code, 'BAD_REQUEST');
    const list = await t.request('GET', `/api/2.0/mlflow-artifacts/artifacts?path=0/${runId}/artifacts/big`, { token });
    assert.deepEqual(list.json.files, []);
  });

  it("answers MLflow's codes for a missing or weak credential", async () => {
    const anon = await api('GET', `registered-models/get?name=${name}`, undefined, null);
    assert.equal(anon.status, 401);
    assert.equal(anon.json.error_code, 'UNAUTHENTICATED');
    const viewer = (await t.keyWithScopes(['models:read'], 'viewer')).secret;
    const denied = await api('POST', 'registered-models/create', { name: 'mlf-viewer-try' }, viewer);
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error_code, 'PERMISSION_DENIED');
    const upload = await put(`0/${runId}/artifacts/x.txt`, 'x', 'text/plain', viewer);
    assert.equal(upload.statusCode, 403);
    // Deleting a model is an approver's decision in Modelyard, whatever the client.
    const del = await api('DELETE', 'registered-models/delete', { name });
    assert.equal(del.status, 403);
  });
});
