import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileErrors, validate } from '@readme/openapi-parser';
import { createConfig } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { ERROR_CODES, type ErrorCode } from '@modelyard/contracts';
import { openApiResponses, uniqueId } from '@modelyard/testing';
import { PREDICT_ROUTES } from './serving/predict-router.js';
import { startTestApp, type TestApp } from './test-support.js';

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/**
 * Every route the api's Fastify instance serves (Nest's and any added on Fastify directly), as `method /path` in
 * the document's spelling, read from Fastify's own route tree (`printRoutes`: one node a line, four columns of
 * indentation a level, its methods in parentheses). Parameters follow a `/` here; `::` is a literal colon.
 */
function servedRoutes(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack[depth] = (stack[depth - 1] ?? '') + m[2]!;
    stack.length = depth + 1;
    const path = stack[depth]!.replace(/\/:(\w+)(\([^)]*\))?/g, '/{$1}')
      .replace(/::/g, ':')
      // Fastify's wildcard (MLflow's artifact paths) is `{path}` in the document: Nest's route converter names it.
      .replace(/\/?\*$/, '/{path}');
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) out.push(`${method.toLowerCase()} ${path}`);
  }
  return out;
}

function operations(doc: Json) {
  return Object.entries<Json>(doc.paths).flatMap(([p, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ method: m, path: p, op: item[m] as Json })),
  );
}

/** One multipart body: the `spec` field, then the `file` part, as the CLI sends a registration. */
function multipart(spec: unknown, file: Buffer, filename: string) {
  const boundary = `----modelyard${Math.random().toString(16).slice(2)}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n${JSON.stringify(spec)}\r\n`),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: Json;

  before(async () => {
    t = await startTestApp();
    const res = await t.request('GET', '/docs/openapi.json');
    assert.equal(res.status, 200);
    doc = res.json;
  });
  after(() => t.close());

  it('lists every route the api registers, and only those', () => {
    const tree = t.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
    // HEAD routes are Fastify's automatic twins of GETs; /docs, /docs/openapi.json and /docs-yaml serve the document.
    const served = new Set(servedRoutes(tree).filter((r) => !/^(head|options) /.test(r) && !/ \/docs/.test(r)));
    // The predict router's, in front of Fastify.
    for (const r of PREDICT_ROUTES) served.add(`post ${r.route.path}`);
    const documented = new Set(operations(doc).map((o) => `${o.method} ${o.path}`));
    assert.ok(served.size >= 90, `only ${served.size} routes seen`);
    assert.deepEqual([...served].filter((r) => !documented.has(r)).sort(), [], 'routes missing from the document');
    const unserved = [...documented].filter((r) => !served.has(r)).sort();
    assert.deepEqual(unserved, [], 'documented routes the api does not serve');
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0]);
    assert.ok(result.valid, compileErrors(result));
    assert.deepEqual(result.warnings, []);
  });

  it('names every operation with a unique camelCase operationId, a summary and a tag', () => {
    const ops = operations(doc);
    const ids = ops.map((o) => o.op.operationId as string);
    const unnamed = ids.filter((id) => !/^[a-z][A-Za-z0-9]*$/.test(id));
    assert.deepEqual(unnamed, [], 'operations without a stable id (add them to openapi/operations.ts)');
    assert.equal(new Set(ids).size, ids.length, 'duplicate operationIds');
    const key = [
      'listModels',
      'registerVersion',
      'getVersion',
      'predict',
      'oipInfer',
      'tfsPredict',
      'mlflowInvocations',
    ];
    for (const id of key) assert.ok(ids.includes(id), `no ${id}`);
    for (const o of ops) {
      assert.ok(o.op.summary, `${o.op.operationId} has no summary`);
      const tagged = o.op.tags?.length === 1 && doc.tags.some((tag: Json) => tag.name === o.op.tags[0]);
      assert.ok(tagged, `${o.op.operationId} has no tag the document lists`);
    }
  });

  it('documents path and query parameters with schemas', () => {
    const byId = new Map(operations(doc).map((o) => [o.op.operationId as string, o]));
    for (const o of byId.values()) {
      const pathParams = [...o.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (o.op.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => p.name);
      assert.deepEqual(declared, pathParams, `${o.op.operationId} path parameters`);
      for (const p of o.op.parameters ?? []) {
        assert.ok(p.schema && Object.keys(p.schema).length, `${o.op.operationId} ${p.name} schema`);
      }
    }
    const query = (id: string) =>
      Object.fromEntries(
        (byId.get(id)!.op.parameters ?? []).filter((p: Json) => p.in === 'query').map((p: Json) => [p.name, p]),
      );
    assert.deepEqual(Object.keys(query('listModels')), ['search', 'limit', 'cursor']);
    assert.equal(query('listModels').limit.schema.maximum, 200);
    assert.deepEqual(Object.keys(query('predictAsync')), ['format', 'version', 'alias']);
    // The request formats' names, from PROTOCOLS, and the two old names still accepted.
    const format = query('predictAsync').format.schema;
    assert.deepEqual(format.enum, ['modelyard', 'oip-v2', 'v2', 'tfs', 'v1', 'mlflow']);
    assert.equal(format.default, 'modelyard');
    assert.equal(query('getDeploymentComparison').version.required, true);
    assert.ok(Object.keys(query('listAuditEvents')).length >= 4);
    const queries = (o: { op: Json }) => (o.op.parameters ?? []).filter((p: Json) => p.in === 'query').length;
    const total = [...byId.values()].reduce((n, o) => n + queries(o), 0);
    assert.ok(total >= 40, `only ${total} query parameters`);
  });

  it('refers to request bodies and answers by named component schemas from the contracts', () => {
    const schemas = doc.components.schemas;
    for (const name of [
      'Error',
      'RegisteredModel',
      'ModelVersion',
      'ModelPage',
      'PredictRequestInput',
      'PredictResponse',
      'OipInferRequestInput',
      'OipInferResponse',
      'TfsPredictRequestInput',
      'MlflowInvocationsRequestInput',
      'Job',
    ]) {
      assert.ok(schemas[name], `no component ${name}`);
    }
    const ops = new Map(operations(doc).map((o) => [o.op.operationId as string, o.op]));
    const json = (id: string, status: string) => ops.get(id)!.responses[status].content['application/json'].schema;
    assert.deepEqual(json('listModels', '200'), { $ref: '#/components/schemas/ModelPage' });
    assert.deepEqual(json('predict', '200'), { $ref: '#/components/schemas/PredictResponse' });
    const predictBody = ops.get('predict')!.requestBody.content['application/json'].schema;
    assert.deepEqual(predictBody, { $ref: '#/components/schemas/PredictRequestInput' });
    const upload = ops.get('registerVersion')!.requestBody.content['multipart/form-data'];
    assert.equal(upload.schema.properties.spec.$ref, '#/components/schemas/RegisterVersionSpecInput');
    assert.equal(upload.encoding.spec.contentType, 'application/json');
    // Every answer but a 204 has a body with a schema, and nothing refers to a component that is not there.
    for (const { op } of operations(doc)) {
      // A browser redirect (single sign-on's start and callback) succeeds with a 302 and its Location instead.
      if (op['x-modelyard-redirect']) {
        assert.ok(op.responses['302']?.headers?.Location, `${op.operationId} documents no redirect`);
        continue;
      }
      const ok = Object.entries<Json>(op.responses).filter(([s]) => s.startsWith('2'));
      assert.ok(ok.length, `${op.operationId} documents no success`);
      for (const [status, r] of ok) assert.ok(status === '204' || r.content, `${op.operationId} ${status} has no body`);
      for (const [status, r] of Object.entries<Json>(op.responses)) {
        if (!status.startsWith('2') || !r.content) continue;
        for (const m of Object.values<Json>(r.content)) assert.ok(m.schema, `${op.operationId} ${status}`);
      }
    }
    for (const m of JSON.stringify(doc).matchAll(/"#\/components\/(schemas|responses)\/([^"]+)"/g)) {
      assert.ok(doc.components[m[1]!][m[2]!], `dangling ${m[0]}`);
    }
  });

  it("documents each error status a route answers with its codes from the closed map, in the route's shape", () => {
    for (const { op } of operations(doc)) {
      const errors = Object.entries<Json>(op.responses).filter(([s]) => Number(s) >= 400);
      assert.ok(
        errors.some(([s]) => s === '500'),
        `${op.operationId} has no 500`,
      );
      if (op.security.length) assert.ok(op.responses['401'] && op.responses['403'], `${op.operationId} 401/403`);
      for (const [status, r] of errors) {
        if (!r.$ref) continue; // readiness documents its own 503 body
        const response = doc.components.responses[r.$ref.split('/').pop()];
        const media = response.content['application/json'];
        const codes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => String(ERROR_CODES[c]) === status);
        assert.deepEqual(Object.keys(media.examples), codes, `${op.operationId} ${status}`);
        const shape =
          op.tags[0] === 'mlflow' ? 'MlflowError' : ['oip-v2', 'tfs'].includes(op.tags[0]) ? 'ProtocolError' : 'Error';
        assert.equal(media.schema.$ref, `#/components/schemas/${shape}`, `${op.operationId} ${status}`);
      }
    }
    const code = doc.components.schemas.Error.properties.error.properties.code;
    assert.deepEqual(code, { $ref: '#/components/schemas/ErrorCode' });
    assert.deepEqual(doc.components.schemas.ErrorCode.enum, Object.keys(ERROR_CODES));
  });

  it('declares the API key and session security schemes, and public routes need neither', () => {
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKey', 'session']);
    assert.equal(doc.components.securitySchemes.apiKey.scheme, 'bearer');
    assert.equal(doc.components.securitySchemes.session.in, 'cookie');
    for (const { op } of operations(doc)) {
      assert.deepEqual(op.security, op['x-modelyard-public'] ? [] : [{ apiKey: [] }, { session: [] }], op.operationId);
    }
  });

  it('answers as documented: models, versions, history and errors in each shape', async () => {
    const check = openApiResponses(doc);
    const fits = (method: string, docPath: string, res: { status: number; json: unknown; body: string }) => {
      const what = `${method} ${docPath} ${res.status}: ${res.body.slice(0, 500)}`;
      assert.deepEqual(check.check(method, docPath, res.status, res.json), [], what);
    };
    const token = t.adminKey;
    const name = uniqueId('oas');
    fits('POST', '/v1/models', await t.request('POST', '/v1/models', { token, body: { name, tags: { team: 'a' } } }));
    const upload = multipart(
      { description: 'iris', metrics: { accuracy: 0.97 } },
      readFileSync(path.resolve('test/fixtures/models/iris_logreg/model.onnx')),
      'model.onnx',
    );
    const registered = await t.request('POST', `/v1/models/${name}/versions`, {
      token,
      body: upload.body,
      headers: { 'content-type': upload.contentType },
    });
    assert.equal(registered.status, 202, registered.body);
    fits('POST', '/v1/models/{name}/versions', registered);
    fits('GET', '/v1/models', await t.request('GET', `/v1/models?search=${name}&limit=5`, { token }));
    fits('GET', '/v1/models/{name}', await t.request('GET', `/v1/models/${name}`, { token }));
    fits('GET', '/v1/models/{name}/versions', await t.request('GET', `/v1/models/${name}/versions`, { token }));
    const version = await t.request('GET', `/v1/models/${name}/versions/1`, { token });
    assert.equal(version.json.status, 'pending');
    fits('GET', '/v1/models/{name}/versions/{version}', version);
    fits('GET', '/v1/models/{name}/history', await t.request('GET', `/v1/models/${name}/history`, { token }));
    // A predict-only key sees the serving status only, which the document allows too.
    const predictOnly = (await t.keyWithScopes(['predict'], 'viewer')).secret;
    const status = await t.request('GET', `/v1/models/${name}/versions/1`, { token: predictOnly });
    assert.deepEqual(Object.keys(status.json).sort(), ['model_version_status', 'name', 'ready']);
    fits('GET', '/v1/models/{name}/versions/{version}', status);

    const missing = await t.request('GET', '/v1/models/no-such-model-here', { token });
    assert.equal(missing.status, 404);
    fits('GET', '/v1/models/{name}', missing);
    fits('GET', '/v1/models', await t.request('GET', '/v1/models'));
    fits('GET', '/v1/models', await t.request('GET', '/v1/models?limit=9999', { token }));
    const noProduction = await t.request('POST', `/v1/models/${name}/predict`, { token, body: { payload: [] } });
    assert.ok(noProduction.status >= 400);
    fits('POST', '/v1/models/{name}/predict', noProduction);
    const oip = await t.request('POST', '/v2/models/no-such-model-here/infer', { token, body: { inputs: [] } });
    assert.equal(oip.status, 404);
    fits('POST', '/v2/models/{name}/infer', oip);
    fits(
      'POST',
      '/v1/models/{name}/invocations',
      await t.request('POST', '/v1/models/no-such-model-here/invocations', {
        token,
        body: { instances: [[1]] },
      }),
    );
    // And the check itself bites: a body that is not the documented shape fails.
    assert.notDeepEqual(check.check('GET', '/v1/models', 200, { items: [{ name }] }), []);
  });

  it('gives a generator (openapi-typescript) a document it reads without a warning, naming the key types', async () => {
    const problems: string[] = [];
    const warn = console.warn;
    const error = console.error;
    console.warn = (...a: unknown[]) => void problems.push(a.join(' '));
    console.error = (...a: unknown[]) => void problems.push(a.join(' '));
    let source: string;
    try {
      // Redocly's recommended rules plus the ones a generator leans on, each raised to a warning or an error. The
      // probes (/healthz, /readyz, OIP's server routes) take no input and need no credentials: they answer no 4xx.
      const redocly = await createConfig(
        {
          rules: {
            'operation-operationId': 'error',
            'operation-operationId-unique': 'error',
            'operation-operationId-url-safe': 'error',
            'no-unresolved-refs': 'error',
            'path-parameters-defined': 'error',
            'security-defined': 'error',
            // Checked by 'refers to request bodies ...' above, which lets documented browser redirects through.
            'operation-2xx-response': 'off',
            'operation-4xx-response': 'off',
            'no-unused-components': 'warn',
            'operation-parameters-unique': 'error',
            'no-identical-paths': 'error',
            'no-ambiguous-paths': 'warn',
          },
        },
        { extends: ['recommended'] },
      );
      source = astToString(await openapiTS(structuredClone(doc) as Parameters<typeof openapiTS>[0], { redocly }));
    } finally {
      console.warn = warn;
      console.error = error;
    }
    assert.deepEqual(problems, []);
    for (const name of ['ModelVersion', 'RegisteredModel', 'PredictResponse', 'OipInferRequestInput', 'Error']) {
      assert.match(source, new RegExp(`\\n        ${name}: \\{`), `no schema type ${name}`);
    }
    for (const id of ['listModels', 'registerVersion', 'predict', 'oipInfer']) {
      assert.match(source, new RegExp(`\\n    ${id}: \\{`), `no operation type ${id}`);
    }

    // The generated types compile, and code written against them means what the API answers.
    const dir = mkdtempSync(path.join(tmpdir(), 'modelyard-oas-'));
    try {
      writeFileSync(path.join(dir, 'api.ts'), source);
      writeFileSync(
        path.join(dir, 'use.ts'),
        [
          "import type { components, operations } from './api.js';",
          "type Version = components['schemas']['ModelVersion'];",
          "const v: Pick<Version, 'model' | 'version' | 'stage'> = { model: 'iris', version: 1, stage: 'Production' };",
          "type ListQuery = NonNullable<operations['listModels']['parameters']['query']>;",
          "const q: ListQuery = { search: 'iris', limit: 10 };",
          "type Answer = operations['predict']['responses'][200]['content']['application/json'];",
          "const a: Pick<Answer, 'model' | 'version'> = { model: 'iris', version: 1 };",
          "type Failure = operations['getModel']['responses'][404]['content']['application/json'];",
          "const f: Failure['error']['code'] = 'NOT_FOUND';",
          'export { v, q, a, f };',
        ].join('\n'),
      );
      const program = ts.createProgram([path.join(dir, 'use.ts')], {
        strict: true,
        noEmit: true,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        skipLibCheck: true,
        types: [],
      });
      const diagnostics = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      assert.deepEqual(diagnostics, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
