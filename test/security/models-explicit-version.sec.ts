import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

/**
 * A version called by number is loaded into the api process that receives the call. Without a rule, any predict
 * key could load every archived version of every model it may call into every replica. Explicit-version calls
 * are for versions in a stage or behind an alias (or a pilot / silent deployment); any other version needs the
 * `predict:any-version` scope (scientist and above; sessions by role). Checked over the real socket, through the
 * predict router, with API keys and sessions.
 */
const env = e2eEnv();
const admin = (method: string, path: string, body?: unknown) =>
  http(env.apiUrl, method, path, { token: env.adminApiKey, body });
const body = { payload: records(samples('iris_logreg')).slice(0, 1) };

async function keyFor(role: string, scopes: string[]): Promise<string> {
  const sa = await admin('POST', '/v1/service-accounts', { name: uniqueId(`ver-${role}`), role });
  assert.equal(sa.status, 201, sa.text);
  const k = await admin('POST', '/v1/api-keys', { name: 'explicit-version', scopes, serviceAccountId: sa.json.id });
  assert.equal(k.status, 201, k.text);
  return k.json.secret as string;
}

async function sessionOf(role: string): Promise<string> {
  const name = uniqueId(role.slice(0, 4));
  const user = { email: `${name}@test.modelyard.local`, name, password: `${role}-pw-${name}`, role };
  assert.equal((await admin('POST', '/v1/users', user)).status, 201);
  const login = await http(env.apiUrl, 'POST', '/v1/auth/login', {
    body: { email: user.email, password: user.password },
  });
  assert.equal(login.status, 200, login.text);
  return login.headers.get('set-cookie')!.split(';')[0]!;
}

describe('explicit-version predictions', () => {
  let model: string;
  let loose: number;
  let predictKey: string;

  before(async () => {
    const prod = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    model = prod.model;
    // Registered, ready, and in no stage: nothing deploys it.
    loose = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg', { model, promote: false })).version;
    predictKey = await keyFor('viewer', ['predict']);
  });

  it('refuses a predict key a version in no stage with 403 and says which scope it needs', async () => {
    const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${loose}/predict`, {
      token: predictKey,
      body,
    });
    assert.equal(r.status, 403, r.text);
    assert.match(
      r.json.error.message,
      new RegExp(
        `^Version ${loose} of ${model} is in no stage \\(Staging or Production\\) and behind no alias or deployment; calling it by number needs the predict:any-version scope`,
      ),
    );
    const prod = await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/1/predict`, { token: predictKey, body });
    assert.equal(prod.status, 200, `the Production version by number still answers: ${prod.text}`);
  });

  it('refuses it to a viewer session too, and serves it to a scientist session', async () => {
    const viewer = await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${loose}/predict`, {
      cookie: await sessionOf('viewer'),
      body,
    });
    assert.equal(viewer.status, 403, viewer.text);
    const scientist = await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${loose}/predict`, {
      cookie: await sessionOf('scientist'),
      body,
    });
    assert.equal(scientist.status, 200, scientist.text);
  });

  it('serves it to a key with predict:any-version', async () => {
    const key = await keyFor('scientist', ['predict', 'predict:any-version']);
    const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${loose}/predict`, { token: key, body });
    assert.equal(r.status, 200, r.text);
  });

  it('serves it to a plain predict key once it is in Staging or behind an alias', async () => {
    const alias = await admin('PUT', `/v1/models/${model}/aliases/candidate`, { version: loose });
    assert.ok(alias.status === 200 || alias.status === 201, alias.text);
    // Every api process re-reads the model when the registry changes; give it a moment.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (
        await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${loose}/predict`, { token: predictKey, body })
      ).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200);
    const viaAlias = await http(env.apiUrl, 'POST', `/v1/models/${model}/aliases/candidate/predict`, {
      token: predictKey,
      body,
    });
    assert.equal(viaAlias.status, 200, viaAlias.text);

    const staged = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg', { model, promote: false }))
      .version;
    const refused = await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${staged}/predict`, {
      token: predictKey,
      body,
    });
    assert.equal(refused.status, 403, refused.text);
    const stage = await admin('POST', `/v1/models/${model}/versions/${staged}/stage`, { stage: 'Staging' });
    assert.equal(stage.status, 200, stage.text);
    status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (
        await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${staged}/predict`, { token: predictKey, body })
      ).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, 'a Staging version by number');
  });
});
