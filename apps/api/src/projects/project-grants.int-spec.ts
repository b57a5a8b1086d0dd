import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueId } from '@modelyard/testing';
import { startTestApp, type TestApp } from '../test-support.js';

/**
 * A project's admin who is not a platform admin cannot list users (users.read), so the dashboard's settings page
 * names the colleague to add by e-mail.
 */
describe('project grants by e-mail', () => {
  let t: TestApp;
  const project = uniqueId('pg')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');
  let admin: { id: string; cookie: string };
  let colleague: { id: string; email: string };

  before(async () => {
    t = await startTestApp();
    const token = t.adminKey;
    assert.equal((await t.request('POST', '/v1/projects', { token, body: { name: project } })).status, 201);
    admin = await t.userWithRole('viewer');
    colleague = await t.userWithRole('viewer');
    const grant = await t.request('PUT', `/v1/projects/${project}/grants`, {
      token,
      body: { kind: 'user', id: admin.id, role: 'admin' },
    });
    assert.equal(grant.status, 200, grant.body);
  });
  after(() => t?.close());

  it("lets the project's admin (no platform admin) add a user by e-mail, in any case, and lists the grant", async () => {
    assert.equal((await t.request('GET', '/v1/users', { cookie: admin.cookie })).status, 403);
    const put = await t.request('PUT', `/v1/projects/${project}/grants`, {
      cookie: admin.cookie,
      body: { kind: 'user', email: colleague.email.toUpperCase(), role: 'scientist' },
    });
    assert.equal(put.status, 200, put.body);
    assert.equal(put.json.id, colleague.id);
    const list = await t.request('GET', `/v1/projects/${project}/grants`, { cookie: admin.cookie });
    assert.deepEqual(
      list.json.find((g: { id: string }) => g.id === colleague.id),
      { kind: 'user', id: colleague.id, name: put.json.name, role: 'scientist' },
    );
  });

  it('answers 404 for an unknown e-mail and 400 for neither or both of id and e-mail, or a group by e-mail', async () => {
    const put = (body: unknown) => t.request('PUT', `/v1/projects/${project}/grants`, { cookie: admin.cookie, body });
    const unknown = await put({ kind: 'user', email: `${uniqueId('nobody')}@example.com`, role: 'viewer' });
    assert.equal(unknown.status, 404, unknown.body);
    assert.equal((await put({ kind: 'user', role: 'viewer' })).status, 400);
    assert.equal((await put({ kind: 'user', id: colleague.id, email: colleague.email, role: 'viewer' })).status, 400);
    assert.equal((await put({ kind: 'group', email: colleague.email, role: 'viewer' })).status, 400);
  });
});
