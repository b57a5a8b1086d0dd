import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';

const env = e2eEnv();
const api = (method: string, p: string, opts: Parameters<typeof http>[3] = {}) => http(env.apiUrl, method, p, opts);

/** The Foundation story, black-box over HTTP against the api and worker `npm test` started. */
describe('platform over HTTP', () => {
  let cookie: string;
  before(async () => {
    const login = await api('POST', '/v1/auth/login', { body: { email: env.adminEmail, password: env.adminPassword } });
    assert.equal(login.status, 200, login.text);
    cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  });

  it('is live and ready (database and redis reachable)', async () => {
    assert.deepEqual((await api('GET', '/healthz')).json, { status: 'ok' });
    const ready = await api('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.ready, true);
  });

  it('lets a logged-in admin create a group, a service account and a key that then calls /v1/me', async () => {
    const group = await api('POST', '/v1/groups', { cookie, body: { name: uniqueId('e2e-group') } });
    assert.equal(group.status, 201, group.text);
    const sa = await api('POST', '/v1/service-accounts', {
      cookie,
      body: { name: uniqueId('e2e-sa'), role: 'scientist' },
    });
    assert.equal(sa.status, 201, sa.text);
    const member = await api('POST', `/v1/groups/${group.json.id}/members`, {
      cookie,
      body: { kind: 'serviceAccount', id: sa.json.id },
    });
    assert.equal(member.status, 201, member.text);
    const key = await api('POST', '/v1/api-keys', {
      cookie,
      body: { name: 'ci', scopes: ['predict', 'models:read'], serviceAccountId: sa.json.id },
    });
    assert.equal(key.status, 201, key.text);

    const me = await api('GET', '/v1/me', { token: key.json.secret });
    assert.equal(me.status, 200);
    assert.equal(me.json.name, sa.json.name);
    assert.equal(me.json.kind, 'serviceAccount');
    assert.equal(me.json.role, 'scientist');
    assert.deepEqual(me.json.scopes, ['predict', 'models:read']);
    assert.deepEqual(me.json.groups, [{ id: group.json.id, name: group.json.name }]);

    // The key works for what its scopes allow and nothing else.
    assert.equal((await api('GET', '/v1/groups', { token: key.json.secret })).status, 200);
    assert.equal((await api('GET', '/v1/users', { token: key.json.secret })).status, 403);

    const audit = await api('GET', `/v1/audit?objectId=${key.json.apiKey.id}`, { token: env.adminApiKey });
    assert.equal(audit.json.items[0].action, 'apiKey.created');
  });

  it("applies a service account's new role and its disabling to its keys at once", async () => {
    const admin = { token: env.adminApiKey };
    const sa = await api('POST', '/v1/service-accounts', {
      ...admin,
      body: { name: uniqueId('sa-role'), role: 'scientist' },
    });
    const key = (
      await api('POST', '/v1/api-keys', {
        ...admin,
        body: { name: 'ci', scopes: ['models:read', 'models:write'], serviceAccountId: sa.json.id },
      })
    ).json.secret;
    assert.equal((await api('POST', '/v1/models', { token: key, body: { name: uniqueId('sa-model') } })).status, 201);
    const demoted = await api('PATCH', `/v1/service-accounts/${sa.json.id}`, { ...admin, body: { role: 'viewer' } });
    assert.equal(demoted.status, 200, demoted.text);
    assert.equal(demoted.json.role, 'viewer');
    assert.equal((await api('POST', '/v1/models', { token: key, body: { name: uniqueId('sa-model') } })).status, 403);
    assert.equal(
      (await api('PATCH', `/v1/service-accounts/${sa.json.id}`, { ...admin, body: { disabled: true } })).json.disabled,
      true,
    );
    assert.equal((await api('GET', '/v1/me', { token: key })).status, 401);
    assert.equal(
      (await api('PATCH', `/v1/service-accounts/${sa.json.id}`, { ...admin, body: { role: 'wizard' } })).status,
      400,
    );
    assert.equal(
      (
        await api('PATCH', '/v1/service-accounts/00000000-0000-0000-0000-000000000000', {
          ...admin,
          body: { role: 'viewer' },
        })
      ).status,
      404,
    );
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await api('GET', '/docs/openapi.json');
    assert.equal(doc.status, 200);
    assert.ok(doc.json.paths['/v1/me']?.get, 'GET /v1/me is documented');
    assert.ok(doc.json.paths['/v1/api-keys']?.post?.requestBody, 'request bodies are documented');
    const ui = await api('GET', '/docs');
    assert.equal(ui.status, 200);
    assert.match(ui.text, /swagger/i);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('api process lifecycle', () => {
  it('refuses to start with bad config, listing every bad key', async () => {
    const child = spawn(process.execPath, [path.resolve('apps/api/dist/main.js')], {
      env: { PATH: process.env.PATH, DATABASE_URL: 'mysql://nope', API_PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 78);
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'API_PORT', 'SESSION_SECRET'])
      assert.match(stderr, new RegExp(key));
  });

  it('stops cleanly on SIGTERM: stops accepting, exits 0', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.resolve('apps/api/dist/main.js')], {
      env: { ...process.env, API_PORT: String(port), LOG_LEVEL: 'warn', SESSION_SECRET: 'x'.repeat(40) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const base = `http://127.0.0.1:${port}`;
    try {
      // A loaded CI box boots the api's processes in well over 10 s at times: wait up to a minute.
      for (const until = Date.now() + 60_000; Date.now() < until;) {
        try {
          if ((await fetch(`${base}/healthz`)).ok) break;
        } catch {
          /* starting */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      await assert.rejects(fetch(`${base}/healthz`));
    } finally {
      // Never left running (a hung child kept the whole file waiting for its timeout).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
