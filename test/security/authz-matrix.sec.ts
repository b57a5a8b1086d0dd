import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PERMISSIONS, ROLES, SCOPES, roleRank, type Permission, type Role, type Scope } from '@modelyard/contracts';
import { e2eEnv, http, TEST_PASSWORD, uniqueEmail, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

/**
 * The authorization matrix over the real HTTP server, exactly as deployed: the predict router in front of
 * Fastify answers every prediction, API key or session. Every operation of the OpenAPI document with no credentials, a bogus key, a session of each role
 * and a key of each scope; then every predict route of the four formats (by name, version and alias) on a real
 * model with each role, each scope, a key restricted to another model, an expired key, a revoked key and a key
 * of a disabled service account.
 */
type Operation = { method: string; path: string; permission?: Permission; isPublic: boolean };
type Auth = { cookie?: string; token?: string };

const { apiUrl, adminApiKey: admin } = e2eEnv();

/** Browsers add these to every same-origin request the dashboard makes; state changes by cookie need them. */
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin', origin: apiUrl };

function call(method: string, path: string, auth: Auth, body?: unknown) {
  const hasBody = ['POST', 'PUT', 'PATCH'].includes(method);
  return http(apiUrl, method, path, {
    ...auth,
    headers: auth.cookie ? SAME_ORIGIN : {},
    body: hasBody ? (body ?? {}) : undefined,
  });
}

/** OIP v2 / TF Serving answer `{"error": "<message>"}` and MLflow `error_code`: the status is what they share. */
function codeOf(json: any): string | undefined {
  if (typeof json?.error === 'string') return undefined;
  return json?.error_code ?? json?.error?.code;
}

const allowedFor = (status: number) => status !== 401 && status !== 403;

describe('authorization matrix over the real HTTP server (predict router included)', () => {
  let operations: Operation[] = [];
  const sessions = new Map<Role, string>();
  const keys = new Map<Scope, string>();
  /** Keys of a platform admin (an admin user): a service account's keys act only in its project. */
  const platformKeys = new Map<Scope, string>();

  before(async () => {
    const doc = (await http(apiUrl, 'GET', '/docs/openapi.json')).json;
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        operations.push({
          method: method.toUpperCase(),
          path,
          permission: op['x-modelyard-permission'],
          isPublic: op['x-modelyard-public'] === true,
        });
      }
    }
    // Logging out (a public route) would end nothing here, but the matrix must not sign its own sessions out.
    operations = operations.filter((o) => o.path !== '/v1/auth/logout');
    for (const role of ROLES) {
      const email = uniqueEmail(role);
      const created = await http(apiUrl, 'POST', '/v1/users', {
        token: admin,
        body: { email, password: TEST_PASSWORD, role },
      });
      assert.equal(created.status, 201, created.text);
      const login = await http(apiUrl, 'POST', '/v1/auth/login', { body: { email, password: TEST_PASSWORD } });
      assert.equal(login.status, 200, login.text);
      sessions.set(role, login.headers.get('set-cookie')!.split(';')[0]!);
    }
    for (const scope of SCOPES) keys.set(scope, (await keyFor([scope])).secret);
    for (const scope of SCOPES) {
      const k = await call(
        'POST',
        '/v1/api-keys',
        { cookie: sessions.get('admin')! },
        {
          name: `platform-${scope}`,
          scopes: [scope],
        },
      );
      assert.equal(k.status, 201, k.text);
      platformKeys.set(scope, k.json.secret);
    }
  });

  it('finds the routes, and every one declares a permission or is public', () => {
    assert.ok(operations.length >= 60, `only ${operations.length} operations in the OpenAPI document`);
    const undeclared = operations.filter((o) => !o.isPublic && !o.permission).map((o) => `${o.method} ${o.path}`);
    assert.deepEqual(undeclared, []);
  });

  const url = (path: string) => path.replace(/\{kind\}/g, 'user').replace(/\{[^}]+\}/g, () => randomUUID());

  it('refuses every guarded route without credentials (401) and with a bogus key (401)', async () => {
    for (const op of operations.filter((o) => !o.isPublic)) {
      const anon = await call(op.method, url(op.path), {});
      assert.equal(anon.status, 401, `${op.method} ${op.path} without credentials`);
      const code = codeOf(anon.json);
      if (code) assert.equal(code, 'UNAUTHENTICATED', `${op.method} ${op.path}`);
      const bogus = await call(op.method, url(op.path), { token: `my_aaaaaaaa_${'b'.repeat(40)}` });
      assert.equal(bogus.status, 401, `${op.method} ${op.path} with a bogus key`);
    }
  });

  it('applies role rules to dashboard sessions on every route', async () => {
    for (const op of operations.filter((o) => o.permission)) {
      const rule = PERMISSIONS[op.permission!];
      for (const role of ROLES) {
        const r = await call(op.method, url(op.path), { cookie: sessions.get(role)! });
        if (roleRank(role) >= roleRank(rule.role))
          assert.ok(allowedFor(r.status), `${role} on ${op.method} ${op.path}: ${r.status} ${r.text}`);
        else assert.equal(r.status, 403, `${role} on ${op.method} ${op.path}: ${r.status}`);
      }
    }
  });

  it('applies scope rules to API keys on every route', async () => {
    for (const op of operations.filter((o) => o.permission)) {
      const rule = PERMISSIONS[op.permission!];
      const platformAdmin = rule.level === 'platform' && rule.role === 'admin';
      for (const scope of SCOPES) {
        const r = await call(op.method, url(op.path), { token: (platformAdmin ? platformKeys : keys).get(scope)! });
        const allowed = rule.scopes.length === 0 || (rule.scopes as readonly Scope[]).includes(scope);
        if (allowed)
          assert.ok(allowedFor(r.status), `scope ${scope} on ${op.method} ${op.path}: ${r.status} ${r.text}`);
        else assert.equal(r.status, 403, `scope ${scope} on ${op.method} ${op.path}: ${r.status}`);
      }
    }
  });

  describe('every predict route of the four formats on a real model', () => {
    let model = '';
    let version = 0;
    const alias = 'champion';
    let predictRoutes: { method: string; path: string; template: string; body?: unknown }[] = [];

    before(async () => {
      // With its reference rows: the explain routes compute against them (without, they answer 409).
      ({ model, version } = await registerFixture(apiUrl, admin, 'iris_logreg', { reference: true }));
      const a = await http(apiUrl, 'PUT', `/v1/models/${model}/aliases/${alias}`, { token: admin, body: { version } });
      assert.ok(a.status < 300, a.text);
      const s = samples('iris_logreg');
      const row = records(s)[0]!;
      const values = s.feature_names.map((f) => row[f]!);
      const bodies = {
        modelyard: { payload: [row] },
        oip: { inputs: [{ name: s.inputs[0]!.name, shape: [1, values.length], datatype: 'FP32', data: values }] },
        tfs: { instances: [values] },
        mlflow: { dataframe_split: { columns: s.feature_names, data: [values] } },
      };
      const fill = (t: string) =>
        t
          .replace('{name}', model)
          .replace('{version}', String(version))
          .replace(/\{(alias|label)\}/, alias);
      const post = (template: string, body: unknown) => ({
        method: 'POST',
        path: fill(template),
        template,
        body,
      });
      const get = (template: string) => ({ method: 'GET', path: fill(template), template });
      predictRoutes = [
        post('/v1/models/{name}/predict', bodies.modelyard),
        post('/v1/models/{name}/versions/{version}/predict', bodies.modelyard),
        post('/v1/models/{name}/aliases/{alias}/predict', bodies.modelyard),
        post('/v2/models/{name}/infer', bodies.oip),
        post('/v2/models/{name}/versions/{version}/infer', bodies.oip),
        post('/v2/models/{name}/explain', bodies.oip),
        post('/v2/models/{name}/versions/{version}/explain', bodies.oip),
        post('/v1/models/{name}:predict', bodies.tfs),
        post('/v1/models/{name}/versions/{version}:predict', bodies.tfs),
        post('/v1/models/{name}/labels/{label}:predict', bodies.tfs),
        post('/v1/models/{name}/invocations', bodies.mlflow),
        post('/v1/models/{name}/aliases/{alias}/invocations', bodies.mlflow),
        post('/v1/models/{name}/predict:async', bodies.modelyard),
        post('/v1/models/{name}/explain', bodies.modelyard),
        post('/v1/models/{name}/versions/{version}/explain', bodies.modelyard),
        post('/v1/models/{name}/aliases/{alias}/explain', bodies.modelyard),
        get('/v2/models/{name}'),
        get('/v2/models/{name}/versions/{version}'),
        get('/v2/models/{name}/ready'),
        get('/v2/models/{name}/versions/{version}/ready'),
        get('/v1/models/{name}/labels/{label}'),
        get('/v1/models/{name}/metadata'),
        get('/v1/models/{name}/versions/{version}/metadata'),
      ];
    });

    const predictOps = () => operations.filter((o) => o.permission === 'predict' && !o.path.includes('{entityId}'));
    const answer = (r: { status: number }) => r.status === 200 || r.status === 202;

    it('covers every route the OpenAPI document guards with the predict permission', () => {
      const covered = new Set(predictRoutes.map((r) => `${r.method} ${r.template}`));
      const missing = predictOps()
        .map((o) => `${o.method} ${o.path}`)
        .filter((o) => !covered.has(o));
      assert.deepEqual(missing, [], 'predict routes without a real-model case here');
    });

    it('answers a predict key on every route', async () => {
      for (const r of predictRoutes) {
        const res = await call(r.method, r.path, { token: keys.get('predict')! }, r.body);
        assert.ok(answer(res), `${r.method} ${r.path}: ${res.status} ${res.text}`);
      }
    });

    it('answers a session of every role on every route', async () => {
      for (const role of ROLES) {
        for (const r of predictRoutes) {
          const res = await call(r.method, r.path, { cookie: sessions.get(role)! }, r.body);
          assert.ok(answer(res), `${role} on ${r.method} ${r.path}: ${res.status} ${res.text}`);
        }
      }
    });

    it('refuses keys of every other scope (403) on the predict routes', async () => {
      for (const scope of SCOPES) {
        for (const r of predictRoutes) {
          const op = operations.find((o) => o.method === r.method && o.path === r.template)!;
          if ((PERMISSIONS[op.permission!].scopes as readonly Scope[]).includes(scope)) continue;
          const res = await call(r.method, r.path, { token: keys.get(scope)! }, r.body);
          assert.equal(res.status, 403, `scope ${scope} on ${r.method} ${r.path}: ${res.status} ${res.text}`);
        }
      }
    });

    it('refuses a predict key restricted to another model (403) on every route', async () => {
      const other = (await keyFor(['predict'], { modelAllowList: [uniqueId('another-model')] })).secret;
      for (const r of predictRoutes) {
        const res = await call(r.method, r.path, { token: other }, r.body);
        assert.equal(res.status, 403, `${r.method} ${r.path}: ${res.status} ${res.text}`);
      }
    });

    it('refuses expired, revoked and disabled-owner keys (401) on every route', async () => {
      const expiring = await keyFor(['predict'], { expiresAt: new Date(Date.now() + 1500).toISOString() });
      const revoked = await keyFor(['predict']);
      const disabled = await keyFor(['predict']);
      // Use each once first, so the refusals below must come through whatever the api has cached.
      for (const k of [expiring, revoked, disabled]) {
        const warm = await call('POST', predictRoutes[0]!.path, { token: k.secret }, predictRoutes[0]!.body);
        assert.equal(warm.status, 200, warm.text);
      }
      const rv = await http(apiUrl, 'POST', `/v1/api-keys/${revoked.id}/revoke`, { token: admin });
      assert.ok(rv.status < 300, rv.text);
      const dis = await http(apiUrl, 'PATCH', `/v1/service-accounts/${disabled.serviceAccountId}`, {
        token: admin,
        body: { disabled: true },
      });
      assert.equal(dis.status, 200, dis.text);
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiring.expiresAt!) - Date.now()) + 200));
      for (const [what, k] of [
        ['expired', expiring],
        ['revoked', revoked],
        ['disabled-owner', disabled],
      ] as const) {
        for (const r of predictRoutes) {
          const res = await call(r.method, r.path, { token: k.secret }, r.body);
          assert.equal(res.status, 401, `${what} key on ${r.method} ${r.path}: ${res.status} ${res.text}`);
        }
      }
    });
  });
});

/** A service account (admin role, so any scope fits) holding one key. */
async function keyFor(scopes: Scope[], extra: Record<string, unknown> = {}) {
  const sa = await http(apiUrl, 'POST', '/v1/service-accounts', {
    token: admin,
    body: { name: uniqueId('sa'), role: 'admin' },
  });
  assert.equal(sa.status, 201, sa.text);
  const key = await http(apiUrl, 'POST', '/v1/api-keys', {
    token: admin,
    body: { name: 'matrix', scopes, serviceAccountId: sa.json.id, ...extra },
  });
  assert.equal(key.status, 201, key.text);
  return {
    secret: key.json.secret as string,
    id: key.json.apiKey.id as string,
    serviceAccountId: sa.json.id as string,
    expiresAt: key.json.apiKey.expiresAt as string | null,
  };
}
