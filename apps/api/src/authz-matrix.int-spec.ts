import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PERMISSIONS, ROLES, SCOPES, roleRank, type Permission, type Role, type Scope } from '@modelyard/contracts';
import { startTestApp, type TestApp } from './test-support.js';

type Operation = { method: string; path: string; permission?: Permission; isPublic: boolean };

/**
 * Our error body names the code; outside protocols keep their own shape (PROTOCOLS.md): MLflow's error_code,
 * and OIP v2 / TF Serving's bare `{"error": "<message>"}`, where the status is all there is to check.
 */
function assertErrorCode(body: any, code: 'UNAUTHENTICATED' | 'FORBIDDEN', where: string) {
  if (typeof body?.error === 'string') return;
  if (typeof body?.error_code === 'string')
    assert.equal(body.error_code, code === 'FORBIDDEN' ? 'PERMISSION_DENIED' : code, where);
  else assert.equal(body?.error?.code, code, where);
}

/**
 * Walks every route in the generated OpenAPI document with no credentials, a session of every role and a
 * key of every scope, and checks 401 / 403 / allowed against the route's declared permission. A new route
 * is covered the moment it exists; one without a declared permission fails here.
 */
describe('authorization matrix', () => {
  let t: TestApp;
  let operations: Operation[];
  const sessions = new Map<Role, string>();
  const keys = new Map<Scope, string>();
  /** Keys of a platform admin (an admin user): a service account's keys act only in its project. */
  const platformKeys = new Map<Scope, string>();

  before(async () => {
    t = await startTestApp();
    const doc = (await t.request('GET', '/docs/openapi.json')).json;
    operations = [];
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
    for (const role of ROLES) sessions.set(role, (await t.userWithRole(role)).cookie);
    for (const scope of SCOPES) keys.set(scope, (await t.keyWithScopes([scope], 'admin')).secret);
    for (const scope of SCOPES) {
      const k = await t.request('POST', '/v1/api-keys', {
        cookie: sessions.get('admin')!,
        body: { name: `platform-${scope}`, scopes: [scope] },
      });
      platformKeys.set(scope, k.json.secret);
    }
  });
  after(() => t.close());

  const url = (path: string) => path.replace(/\{kind\}/g, 'user').replace(/\{[^}]+\}/g, () => randomUUID());
  const call = (op: Operation, auth: { cookie?: string; token?: string }) =>
    t.request(op.method, url(op.path), {
      ...auth,
      body: ['POST', 'PUT', 'PATCH'].includes(op.method) ? {} : undefined,
    });

  it('finds the routes and every one declares a permission or is public', () => {
    assert.ok(operations.length >= 15, `only ${operations.length} operations in the OpenAPI document`);
    const undeclared = operations.filter((o) => !o.isPublic && !o.permission).map((o) => `${o.method} ${o.path}`);
    assert.deepEqual(undeclared, []);
    for (const o of operations)
      if (o.permission) assert.ok(o.permission in PERMISSIONS, `${o.permission} is not in PERMISSIONS`);
  });

  it('refuses every guarded route without credentials (401) and with a bogus key (401)', async () => {
    for (const op of operations.filter((o) => !o.isPublic)) {
      const anon = await call(op, {});
      assert.equal(anon.status, 401, `${op.method} ${op.path} without credentials`);
      assertErrorCode(anon.json, 'UNAUTHENTICATED', `${op.method} ${op.path}`);
      const bogus = await call(op, { token: `my_aaaaaaaa_${'b'.repeat(40)}` });
      assert.equal(bogus.status, 401, `${op.method} ${op.path} with a bogus key`);
    }
  });

  it('lets public routes through without credentials', async () => {
    for (const op of operations.filter((o) => o.isPublic)) {
      const r = await call(op, {});
      assert.ok(r.status !== 401 && r.status !== 403, `${op.method} ${op.path} answered ${r.status}`);
    }
  });

  it('applies role rules to dashboard sessions', async () => {
    for (const op of operations.filter((o) => o.permission)) {
      const rule = PERMISSIONS[op.permission!];
      for (const role of ROLES) {
        const r = await call(op, { cookie: sessions.get(role)! });
        const allowed = roleRank(role) >= roleRank(rule.role);
        if (allowed)
          assert.ok(
            r.status !== 401 && r.status !== 403,
            `${role} on ${op.method} ${op.path} got ${r.status} ${r.body}`,
          );
        else {
          assert.equal(r.status, 403, `${role} on ${op.method} ${op.path} got ${r.status}`);
          assertErrorCode(r.json, 'FORBIDDEN', `${op.method} ${op.path}`);
        }
      }
    }
  });

  it('applies scope rules to API keys', async () => {
    for (const op of operations.filter((o) => o.permission)) {
      const rule = PERMISSIONS[op.permission!];
      const platformAdmin = rule.level === 'platform' && rule.role === 'admin';
      for (const scope of SCOPES) {
        const r = await call(op, { token: (platformAdmin ? platformKeys : keys).get(scope)! });
        const allowed = rule.scopes.length === 0 || (rule.scopes as readonly Scope[]).includes(scope);
        if (allowed)
          assert.ok(
            r.status !== 401 && r.status !== 403,
            `scope ${scope} on ${op.method} ${op.path} got ${r.status} ${r.body}`,
          );
        else assert.equal(r.status, 403, `scope ${scope} on ${op.method} ${op.path} got ${r.status}`);
      }
    }
  });
});
