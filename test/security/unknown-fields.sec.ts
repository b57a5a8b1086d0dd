import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { FIXTURES_DIR, registerFixture } from '../support/fixtures.js';

/**
 * A field an operation of Modelyard's own API does not take is a 400 naming it, never dropped: a client that
 * misspells one must not be told 200 while the setting it meant is not there. The dangerous cases are the
 * restrictive settings: a key whose misspelt `modelAllowlist` was dropped could reach every model.
 */
const { apiUrl, adminApiKey: admin } = e2eEnv();
const call = (method: string, p: string, body?: unknown) => http(apiUrl, method, p, { token: admin, body });

describe('fields an operation does not take', () => {
  let model: string;
  before(async () => {
    ({ model } = await registerFixture(apiUrl, admin, 'iris_logreg'));
  });

  it('refuses a key whose misspelt modelAllowlist would have let it reach every model (400 naming it), and mints none', async () => {
    const name = uniqueId('ci-key');
    const r = await call('POST', '/v1/api-keys', { name, scopes: ['predict'], modelAllowlist: [model] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'VALIDATION_FAILED');
    assert.equal(r.json.error.message, 'Unknown field: modelAllowlist');
    const keys = (await call('GET', '/v1/api-keys')).json as { name: string }[];
    assert.ok(!keys.some((k) => k.name === name), 'no key was minted');
  });

  it('refuses a misspelt field of a model, at the top and nested, and changes nothing', async () => {
    const top = await call('PATCH', `/v1/models/${model}`, { requireApproval: true, description: 'changed' });
    assert.equal(top.status, 400, top.text);
    assert.equal(top.json.error.message, 'Unknown field: requireApproval');
    const nested = await call('PATCH', `/v1/models/${model}`, { servingConfig: { microbatch: false } });
    assert.equal(nested.status, 400, nested.text);
    assert.equal(nested.json.error.message, 'Unknown field: servingConfig.microbatch');
    const now = (await call('GET', `/v1/models/${model}`)).json;
    assert.equal(now.requiresApproval, false);
    assert.notEqual(now.description, 'changed');
    assert.equal(now.servingConfig?.microBatch ?? null, null);
  });

  it('refuses a version upload whose spec misspells a field, and registers no version', async () => {
    const before = (await call('GET', `/v1/models/${model}/versions`)).json as unknown[];
    const form = new FormData();
    form.append('spec', JSON.stringify({ sampleInputs: [[5.1, 3.5, 1.4, 0.2]] }));
    form.append('file', new Blob([readFileSync(path.join(FIXTURES_DIR, 'iris_logreg', 'model.onnx'))]), 'model.onnx');
    const res = await fetch(`${apiUrl}/v1/models/${model}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: form,
    });
    const json = (await res.json()) as { error: { message: string } };
    assert.equal(res.status, 400, JSON.stringify(json));
    assert.equal(json.error.message, 'Unknown field: sampleInputs');
    assert.equal(((await call('GET', `/v1/models/${model}/versions`)).json as unknown[]).length, before.length);
  });
});
