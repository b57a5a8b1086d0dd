import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_PASSWORD, uniqueEmail, uniqueId } from '@modelyard/testing';
import { HealthService } from '@modelyard/server';
import { startTestApp, type TestApp } from '../test-support.js';

describe('auth over HTTP (real Postgres + Redis)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ LOGIN_MAX_ATTEMPTS: '3', MAX_BODY_BYTES: '4096' });
  });
  after(() => t.close());

  it('logs in with an httpOnly SameSite cookie, serves /v1/me with it, and logout ends it', async () => {
    const u = await t.userWithRole('scientist');
    const me = await t.request('GET', '/v1/me', { cookie: u.cookie });
    assert.equal(me.status, 200);
    assert.equal(me.json.email, u.email);
    assert.equal(me.json.role, 'scientist');
    assert.equal(me.json.scopes, null);

    const login = await t.request('POST', '/v1/auth/login', { body: { email: u.email, password: TEST_PASSWORD } });
    const setCookie = String(login.headers['set-cookie']);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);
    const cookie = setCookie.split(';')[0]!;
    const out = await t.request('POST', '/v1/auth/logout', { cookie });
    assert.equal(out.status, 204);
    assert.equal((await t.request('GET', '/v1/me', { cookie })).status, 401);
    // Other sessions of the same user are untouched.
    assert.equal((await t.request('GET', '/v1/me', { cookie: u.cookie })).status, 200);
  });

  it('answers the same 401 for a wrong password and an unknown email', async () => {
    const u = await t.userWithRole('viewer');
    const wrong = await t.request('POST', '/v1/auth/login', { body: { email: u.email, password: 'not-the-password' } });
    const unknown = await t.request('POST', '/v1/auth/login', {
      body: { email: uniqueEmail(), password: 'whatever-123' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.json.error.message, unknown.json.error.message);
    assert.equal(wrong.json.error.code, 'INVALID_CREDENTIALS');
  });

  it('validates the login body before passport sees it', async () => {
    const r = await t.request('POST', '/v1/auth/login', { body: { email: 'not-an-email' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'VALIDATION_FAILED');
  });

  it('rate-limits login attempts per ip and email with Retry-After', async () => {
    const email = uniqueEmail();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await t.request('POST', '/v1/auth/login', { body: { email, password: 'wrong-password' } })).status,
      );
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const limited = await t.request('POST', '/v1/auth/login', { body: { email, password: 'wrong-password' } });
    assert.equal(limited.json.error.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) > 0);
  });

  it('refuses a revoked key at once, even though keys are cached', async () => {
    const k = await t.keyWithScopes(['models:read'], 'viewer');
    assert.equal((await t.request('GET', '/v1/me', { token: k.secret })).status, 200);
    const revoked = await t.request('POST', `/v1/api-keys/${k.id}/revoke`, { token: t.adminKey });
    assert.equal(revoked.status, 200);
    assert.ok(revoked.json.revokedAt);
    const after = await t.request('GET', '/v1/me', { token: k.secret });
    assert.equal(after.status, 401);
  });

  it('refuses an expired key and a key scoped beyond its owner role', async () => {
    const soon = await t.keyWithScopes(['predict'], 'viewer', { expiresAt: new Date(Date.now() + 1500).toISOString() });
    assert.equal((await t.request('GET', '/v1/me', { token: soon.secret })).status, 200);
    await new Promise((r) => setTimeout(r, 1700));
    assert.equal((await t.request('GET', '/v1/me', { token: soon.secret })).status, 401);

    const sa = await t.request('POST', '/v1/service-accounts', {
      token: t.adminKey,
      body: { name: uniqueId('sa'), role: 'viewer' },
    });
    const tooMuch = await t.request('POST', '/v1/api-keys', {
      token: t.adminKey,
      body: { name: 'x', scopes: ['models:write'], serviceAccountId: sa.json.id },
    });
    assert.equal(tooMuch.status, 403);
    assert.match(tooMuch.json.error.message, /viewer cannot hold a key with scope\(s\) models:write/);
  });

  it('shows a key secret only once and stores only its hash', async () => {
    const u = await t.userWithRole('scientist');
    const created = await t.request('POST', '/v1/api-keys', {
      cookie: u.cookie,
      body: { name: 'laptop', scopes: ['predict', 'jobs'] },
    });
    assert.equal(created.status, 201);
    assert.match(created.json.secret, /^my_[a-z0-9]{8}_[A-Za-z0-9]{40}$/);
    assert.equal(created.json.apiKey.prefix, created.json.secret.split('_')[1]);
    const list = await t.request('GET', '/v1/api-keys', { cookie: u.cookie });
    assert.equal(list.status, 200);
    assert.equal(list.json.length, 1);
    assert.ok(!JSON.stringify(list.json).includes(created.json.secret.split('_')[2]));
    const viaKey = await t.request('GET', '/v1/me', { token: created.json.secret });
    assert.deepEqual(viaKey.json.scopes, ['predict', 'jobs']);
    // A scientist may not hold the promote scope.
    const promote = await t.request('POST', '/v1/api-keys', {
      cookie: u.cookie,
      body: { name: 'p', scopes: ['models:promote'] },
    });
    assert.equal(promote.status, 403);
  });

  it('ends sessions of a demoted user', async () => {
    const u = await t.userWithRole('admin');
    assert.equal((await t.request('GET', '/v1/users', { cookie: u.cookie })).status, 200);
    const demoted = await t.request('PATCH', `/v1/users/${u.id}`, { token: t.adminKey, body: { role: 'viewer' } });
    assert.equal(demoted.status, 200);
    assert.equal(demoted.json.role, 'viewer');
    assert.equal((await t.request('GET', '/v1/users', { cookie: u.cookie })).status, 401);
  });

  it('puts groups on the caller identity and records who did it in the audit log', async () => {
    const k = await t.keyWithScopes(['predict'], 'scientist');
    const g = await t.request('POST', '/v1/groups', { token: t.adminKey, body: { name: uniqueId('grp') } });
    assert.equal(g.status, 201);
    const add = await t.request('POST', `/v1/groups/${g.json.id}/members`, {
      token: t.adminKey,
      body: { kind: 'serviceAccount', id: k.serviceAccountId },
    });
    assert.equal(add.status, 201);
    assert.equal(add.json.members[0].id, k.serviceAccountId);
    const dup = await t.request('POST', `/v1/groups/${g.json.id}/members`, {
      token: t.adminKey,
      body: { kind: 'serviceAccount', id: k.serviceAccountId },
    });
    assert.equal(dup.status, 409);
    const me = await t.request('GET', '/v1/me', { token: k.secret });
    assert.deepEqual(me.json.groups, [{ id: g.json.id, name: g.json.name }]);
    const audit = await t.request('GET', `/v1/audit?objectId=${g.json.id}`, { token: t.adminKey });
    assert.deepEqual(audit.json.items.map((e: any) => e.action).sort(), ['group.created', 'group.member_added']);
    assert.equal(audit.json.items[0].actor.name, t.adminAccount);
  });
});

describe('login budgets, checked before the password hash (real Redis)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ LOGIN_IP_MAX_ATTEMPTS: '3', LOGIN_GLOBAL_PER_SECOND: '1000' });
  });
  after(() => t.close());

  it('refuses a fourth login from one address, whatever the emails, with 429; other addresses go on', async () => {
    const login = (ip: string) =>
      t.request('POST', '/v1/auth/login', {
        body: { email: uniqueEmail(), password: 'wrong-password' },
        headers: { 'x-forwarded-for': ip },
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await login('203.0.113.7')).status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    const limited = await login('203.0.113.7');
    assert.equal(limited.json.error.code, 'RATE_LIMITED');
    assert.match(limited.json.error.message, /from this address/);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.equal((await login('198.51.100.9')).status, 401);
  });

  it('counts failures only: people who know their password log in from one address as often as they like', async () => {
    const u = await t.userWithRole('viewer');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await t.request('POST', '/v1/auth/login', {
        body: { email: u.email, password: TEST_PASSWORD },
        headers: { 'x-forwarded-for': '203.0.113.50' },
      });
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
  });
});

describe('the per-process login budget (real Redis)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ LOGIN_GLOBAL_PER_SECOND: '1' });
  });
  after(() => t.close());

  it('lets its burst of password checks through from any addresses and answers the rest 429', async () => {
    const started = Date.now();
    // One a second with a burst of ten: of fourteen at once, ten are checked (eleven if a second went by).
    const all = await Promise.all(
      Array.from({ length: 14 }, (_, i) =>
        t.request('POST', '/v1/auth/login', {
          body: { email: uniqueEmail(), password: 'wrong-password' },
          headers: { 'x-forwarded-for': `192.0.2.${i + 1}` },
        }),
      ),
    );
    const statuses = all.map((r) => r.status);
    const count = (s: number) => statuses.filter((x) => x === s).length;
    const took = Date.now() - started;
    assert.ok([10, 11].includes(count(401)) && count(401) + count(429) === 14, `${statuses.join(',')} in ${took} ms`);
    const limited = all.find((r) => r.status === 429)!;
    assert.equal(limited.json.error.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
  });
});

describe('password hashes at once (real Redis)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ LOGIN_GLOBAL_PER_SECOND: '1000', LOGIN_HASH_CONCURRENCY: '1', LOGIN_HASH_QUEUE: '0' });
  });
  after(() => t.close());

  it('runs one argon2 check at a time and refuses logins that would wait for one, with 429', async () => {
    const all = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        t.request('POST', '/v1/auth/login', {
          body: { email: uniqueEmail(), password: 'wrong-password' },
          headers: { 'x-forwarded-for': `192.0.2.${i + 1}` },
        }),
      ),
    );
    const statuses = all.map((r) => r.status);
    assert.ok(statuses.includes(401) && statuses.includes(429), statuses.join(','));
    assert.deepEqual(
      statuses.filter((s) => s !== 401 && s !== 429),
      [],
    );
    assert.match(all.find((r) => r.status === 429)!.json.error.message, /Too many logins right now/);
  });
});

describe('HTTP platform behaviour', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ MAX_BODY_BYTES: '4096' });
  });
  after(() => t.close());

  it('answers 413 JSON for a body over MAX_BODY_BYTES', async () => {
    const r = await t.request('POST', '/v1/groups', {
      token: t.adminKey,
      body: { name: 'big', description: 'x'.repeat(8000) },
    });
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 400 JSON for malformed JSON and 404 JSON for unknown routes', async () => {
    const bad = await t.request('POST', '/v1/groups', {
      token: t.adminKey,
      body: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.json.error.errorId, 'string');
    const missing = await t.request('GET', '/v1/no-such-thing', { token: t.adminKey });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'NOT_FOUND');
  });

  it('echoes a valid incoming request id and uses it as the errorId', async () => {
    const r = await t.request('GET', '/v1/me', { headers: { 'x-request-id': 'trace-abc-123' } });
    assert.equal(r.headers['x-request-id'], 'trace-abc-123');
    assert.equal(r.json.error.errorId, 'trace-abc-123');
  });

  it('reports readiness of database and redis', async () => {
    const r = await t.request('GET', '/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      ready: true,
      checks: { database: { ok: true }, redis: { ok: true }, models: { ok: true } },
    });
  });

  it('reports not ready (503), naming the failing check but not its error, when a readiness check fails', async () => {
    const internal =
      'connect ECONNREFUSED db-primary.internal:5432 at /srv/modelyard/node_modules/pg/lib/client.js:132';
    t.app.get(HealthService).register('models-warm', async () => {
      throw new Error(internal);
    });
    const r = await t.request('GET', '/readyz');
    assert.equal(r.status, 503);
    assert.equal(r.json.ready, false);
    assert.deepEqual(r.json.checks['models-warm'], { ok: false });
    for (const leak of ['ECONNREFUSED', 'db-primary', '5432', '/srv/', 'client.js'])
      assert.ok(!r.body.includes(leak), `${leak} in ${r.body}`);
    assert.equal(r.json.checks.database.ok, true);
    assert.equal((await t.request('GET', '/healthz')).status, 200);
  });
});

describe('prediction rate limit over HTTP', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ RATE_LIMIT_RPS: '1', RATE_LIMIT_BURST: '2' });
  });
  after(() => t.close());

  it('answers 429 with Retry-After once a key has used its burst', async () => {
    const k = await t.keyWithScopes(['predict'], 'viewer');
    const body = { payload: [{ x: 1 }] };
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await t.request('POST', `/v1/models/${uniqueId('nomodel')}/predict`, { token: k.secret, body })).status,
      );
    // The limit is taken before the model is looked up, so a missing model is 404 until the burst is used.
    assert.deepEqual(statuses, [404, 404, 429]);
    const limited = await t.request('POST', '/v1/models/anything/predict', { token: k.secret, body });
    assert.equal(limited.json.error.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
  });
});
