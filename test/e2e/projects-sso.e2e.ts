import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SCOPES } from '@modelyard/contracts';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { FIXTURES_DIR, records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';
import {
  CookieJar,
  TEST_SCOPES,
  WEB_CLIENT,
  signInAtIdp,
  startTestIdp,
  type TestIdp,
} from '../support/oidc-provider.js';

const env = e2eEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REFRESH_MS = 3000;
const slug = (p: string) => uniqueId(p).toLowerCase();
const row = { payload: records(samples('iris_logreg')).slice(0, 1) };

/**
 * Single sign-on and projects together: a login through a real OpenID Connect provider (`oidc-provider`, on
 * 127.0.0.1) lands a user whose IdP group is a Modelyard group granted scientist on project X and used for a
 * pilot on a model of project Y. The api is a process of this file's own with OIDC_* set and a 3 s re-check, so a
 * change at the IdP shows at the session's next refresh within seconds.
 */
describe('single sign-on: an IdP group drives a role in one project and pilot routing in another', () => {
  let idp: TestIdp;
  let api: { url: string; proc: AppProcess };

  before(async () => {
    const port = await freePort();
    const callback = `http://127.0.0.1:${port}/v1/auth/sso/callback`;
    idp = await startTestIdp([callback]);
    const proc = startApp('sso-projects-api', 'api', {
      REDIS_PREFIX: uniqueId('sso-projects'),
      API_PORT: String(port),
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: WEB_CLIENT.id,
      OIDC_CLIENT_SECRET: WEB_CLIENT.secret,
      OIDC_REDIRECT_URL: callback,
      OIDC_SCOPES: TEST_SCOPES,
      OIDC_REFRESH_MINUTES: String(REFRESH_MS / 60_000),
    });
    api = { url: `http://127.0.0.1:${port}`, proc };
    await waitReady(`${api.url}/readyz`, proc);
  });
  after(async () => {
    await api?.proc.kill();
    await idp?.close();
  });

  /** The browser's redirect flow against the api: the IdP's sign-in, the callback, the session cookie. */
  async function login(accountId: string) {
    const jar = new CookieJar();
    const start = await fetch(`${api.url}/v1/auth/sso/login?next=/models`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    jar.store(start);
    const callback = await signInAtIdp(idp, start.headers.get('location')!, accountId);
    assert.ok(callback, 'the IdP sent the browser back');
    const done = await fetch(callback, { redirect: 'manual', headers: { cookie: jar.header() } });
    assert.equal(done.status, 302, await done.text());
    const session = done.headers.getSetCookie().find((c) => c.startsWith('modelyard_session=') && !/=;/.test(c));
    assert.ok(session, 'a session cookie was set');
    return session.split(';')[0]!;
  }

  /** Registers the iris model file as a new version of `model`, multipart as the dashboard sends it. */
  async function register(auth: { cookie?: string; token?: string }, url: string) {
    const form = new FormData();
    form.append('spec', JSON.stringify({}));
    form.append('file', new Blob([readFileSync(path.join(FIXTURES_DIR, 'iris_logreg', 'model.onnx'))]), 'model.onnx');
    const headers: Record<string, string> = auth.token ? { authorization: `Bearer ${auth.token}` } : {};
    if (auth.cookie) headers.cookie = auth.cookie;
    const res = await fetch(`${api.url}${url}`, { method: 'POST', headers, body: form });
    return { status: res.status, text: await res.text() };
  }

  it('grants scientist on X and a pilot in Y through the IdP group; removing it at the IdP removes both', async () => {
    const admin = env.adminApiKey;
    const X = slug('proj-x');
    const Y = slug('proj-y');
    for (const p of [X, Y])
      assert.equal((await http(api.url, 'POST', '/v1/projects', { token: admin, body: { name: p } })).status, 201);
    // Project Y's model: version 1 in Production, version 2 for the pilot.
    const sa = await http(api.url, 'POST', `/v1/projects/${Y}/service-accounts`, {
      token: admin,
      body: { name: slug('y-admin'), role: 'admin' },
    });
    const yKey = (
      await http(api.url, 'POST', `/v1/projects/${Y}/api-keys`, {
        token: admin,
        body: { name: 'y', scopes: [...SCOPES], serviceAccountId: sa.json.id },
      })
    ).json.secret as string;
    // Registered through the platform's api, whose worker validates them (this api's queues have no worker).
    const { model, version: v1 } = await registerFixture(env.apiUrl, yKey, 'iris_logreg');
    const { version: v2 } = await registerFixture(env.apiUrl, yKey, 'iris_rf', { model, promote: false });

    // The person's first sign-in: created with the IdP's group, no role in X yet.
    const team = uniqueId('data-science');
    const person = uniqueId('person');
    idp.accounts.set(person, { email: `${person}@example.test`, name: 'Pat Person', groups: [team] });
    const cookie = await login(person);
    const me = await http(api.url, 'GET', '/v1/me', { cookie });
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(
      me.json.groups.map((g: { name: string }) => g.name),
      [team],
    );
    const group = (await http(api.url, 'GET', '/v1/groups', { token: admin })).json.find(
      (g: { name: string }) => g.name === team,
    );
    assert.equal(group.idpManaged, true);
    assert.equal((await register({ cookie }, `/v1/projects/${X}/models/${slug('m')}/versions`)).status, 404);

    // The platform admin maps the directory group to team X (scientist) and gives it Y's pilot; the person is a
    // viewer of Y by a grant of their own, which the IdP does not manage.
    const grant = await http(api.url, 'PUT', `/v1/projects/${X}/grants`, {
      token: admin,
      body: { kind: 'group', id: group.id, role: 'scientist' },
    });
    assert.ok(grant.status < 300, grant.text);
    const own = await http(api.url, 'PUT', `/v1/projects/${Y}/grants`, {
      token: admin,
      body: { kind: 'user', id: me.json.id, role: 'viewer' },
    });
    assert.ok(own.status < 300, own.text);
    const dep = await http(api.url, 'PUT', `/v1/models/${model}/deployment`, {
      token: yKey,
      body: { config: { pilots: [{ version: v2, groups: [group.id] }] }, comment: 'pilot for the data science group' },
    });
    assert.equal(dep.status, 200, dep.text);

    // In X the person registers a model; in Y their predictions, in every URL form, go to the pilot.
    const xModel = slug('x-model');
    const reg = await register({ cookie }, `/v1/projects/${X}/models/${xModel}/versions`);
    assert.equal(reg.status, 202, reg.text);
    const inX = await http(api.url, 'GET', `/v1/projects/${X}/models/${xModel}`, { cookie });
    assert.equal(inX.status, 200, inX.text);
    const xKey = await http(api.url, 'POST', `/v1/projects/${X}/api-keys`, {
      cookie,
      body: { name: 'pat', scopes: ['models:read', 'models:write'] },
    });
    assert.equal(xKey.status, 201, xKey.text);
    const predictions = () =>
      Promise.all(
        [`/projects/${Y}/v1/models/${model}/predict`, `/v1/projects/${Y}/models/${model}/predict`].map((url) =>
          http(api.url, 'POST', url, { cookie, body: row }),
        ),
      );
    for (const p of await predictions()) {
      assert.equal(p.status, 200, p.text);
      assert.equal(p.headers.get('x-deployment-role'), 'pilot');
      assert.equal(p.headers.get('x-model-version'), String(v2));
    }

    // The directory drops the person from the group: at the session's next refresh both are gone.
    idp.accounts.get(person)!.groups = [];
    await sleep(REFRESH_MS + 500);
    const after = await http(api.url, 'GET', '/v1/me', { cookie });
    assert.equal(after.status, 200, after.text);
    assert.deepEqual(after.json.groups, []);
    for (const p of await predictions()) {
      assert.equal(p.status, 200, p.text);
      assert.equal(p.headers.get('x-deployment-role'), 'production');
      assert.equal(p.headers.get('x-model-version'), String(v1));
    }
    const again = await register({ cookie }, `/v1/projects/${X}/models/${xModel}/versions`);
    assert.equal(again.status, 404, again.text);
    assert.equal((await http(api.url, 'GET', `/v1/projects/${X}/models/${xModel}`, { cookie })).status, 404);
    // The key the person made in X acted with their role there: it goes with it.
    const byKey = await register({ token: xKey.json.secret }, `/v1/models/${xModel}/versions`);
    assert.ok([401, 403].includes(byKey.status), `${byKey.status} ${byKey.text}`);
    const readByKey = await http(api.url, 'GET', `/v1/models/${xModel}`, { token: xKey.json.secret });
    assert.ok([401, 403].includes(readByKey.status), `${readByKey.status} ${readByKey.text}`);

    // Back in the group at the IdP: back in X and in the pilot at the next refresh.
    idp.accounts.get(person)!.groups = [team];
    await sleep(REFRESH_MS + 500);
    for (const p of await predictions()) assert.equal(p.headers.get('x-deployment-role'), 'pilot');
    assert.equal((await http(api.url, 'GET', `/v1/projects/${X}/models/${xModel}`, { cookie })).status, 200);
  });
});
