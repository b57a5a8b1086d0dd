import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROLES, SCOPES } from '@modelyard/contracts';
import { TEST_PASSWORD, uniqueEmail, uniqueId } from '@modelyard/testing';
import { multipart, startTestApp, type TestApp } from '../test-support.js';

type Operation = { method: string; path: string };
type Caller = { who: string; cookie?: string; token?: string; session: boolean };

/**
 * Team A owns a model (a version, an alias), a webhook, a service account and its key in the default project.
 * Team B has a project of its own, a session of every role there and a key of every scope. Every route of the
 * OpenAPI document is called by every one of them with team A's names and ids in the path, bare, qualified
 * with team A's project and qualified with team B's: an answer that shows any of team A's objects counts as a
 * read across projects, and team A's objects are compared before and after for writes. Both counts must be 0.
 */
describe('projects: no route reads or writes across projects, for any role or key scope', () => {
  let t: TestApp;
  let ops: Operation[];
  const teamB = uniqueId('tb')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');
  const a = {
    model: uniqueId('xa').toLowerCase(),
    /** In team A's model description and tags: what its model shows only to team A. */
    secret: uniqueId('team-a-secret'),
    webhookUrl: `https://hooks.example.com/${uniqueId('a')}`,
    webhookId: '',
    sa: uniqueId('sa-a').toLowerCase(),
    saId: '',
    keyId: '',
    keyPrefix: '',
  };
  const callers: Caller[] = [];
  let before0: unknown;

  /** Team A's objects as its platform admin sees them (what must not change). */
  const teamAState = async () => {
    const token = t.adminKey;
    const model = await t.request('GET', `/v1/models/${a.model}`, { token });
    const versions = await t.request('GET', `/v1/models/${a.model}/versions`, { token });
    const hooks = await t.request('GET', '/v1/webhooks', { token });
    const sas = await t.request('GET', '/v1/service-accounts', { token });
    const keys = await t.request('GET', '/v1/api-keys', { token });
    return {
      model: model.json && { description: model.json.description, aliases: model.json.aliases, tags: model.json.tags },
      versions: versions.json?.map?.((v: { version: number; stage: string }) => [v.version, v.stage]),
      webhook: hooks.json?.find?.((w: { id: string }) => w.id === a.webhookId) ?? null,
      sa: sas.json?.find?.((s: { id: string }) => s.id === a.saId) ?? null,
      key: keys.json?.find?.((k: { id: string }) => k.id === a.keyId)?.revokedAt ?? 'missing',
    };
  };

  before(async () => {
    t = await startTestApp();
    const token = t.adminKey;
    const ok = (r: { status: number; body: string }, what: string) => assert.ok(r.status < 300, `${what}: ${r.body}`);
    // Team A, in the default project.
    ok(
      await t.request('POST', '/v1/models', {
        token,
        body: { name: a.model, description: a.secret, tags: { owner: a.secret } },
      }),
      'model',
    );
    const upload = multipart(readFileSync(path.resolve('test/fixtures/models/iris_logreg/model.onnx')));
    ok(
      await t.request('POST', `/v1/models/${a.model}/versions`, {
        token,
        body: upload.body,
        headers: upload.headers,
      }),
      'version',
    );
    ok(await t.request('PUT', `/v1/models/${a.model}/aliases/champ`, { token, body: { version: 1 } }), 'alias');
    const hook = await t.request('POST', '/v1/webhooks', {
      token,
      body: { url: a.webhookUrl, events: ['model.created'], description: 'team a' },
    });
    ok(hook, 'webhook');
    a.webhookId = hook.json.webhook.id;
    const sa = await t.request('POST', '/v1/service-accounts', { token, body: { name: a.sa, role: 'scientist' } });
    ok(sa, 'service account');
    a.saId = sa.json.id;
    const key = await t.request('POST', '/v1/api-keys', {
      token,
      body: { name: 'team-a', scopes: ['predict'], serviceAccountId: a.saId },
    });
    ok(key, 'key');
    a.keyId = key.json.apiKey.id;
    a.keyPrefix = key.json.apiKey.prefix;

    // Team B: its own project, a user of every role there (and none in the default project), a key per scope.
    ok(await t.request('POST', '/v1/projects', { token, body: { name: teamB } }), 'project');
    for (const role of ROLES) {
      const email = uniqueEmail(`b-${role}`);
      const u = await t.request('POST', '/v1/users', { token, body: { email, password: TEST_PASSWORD } });
      ok(u, 'user');
      ok(await t.request('DELETE', `/v1/project/grants/user/${u.json.id}`, { token }), 'ungrant');
      ok(
        await t.request('PUT', `/v1/projects/${teamB}/grants`, { token, body: { kind: 'user', id: u.json.id, role } }),
        'grant',
      );
      const login = await t.request('POST', '/v1/auth/login', { body: { email, password: TEST_PASSWORD } });
      ok(login, 'login');
      callers.push({
        who: `${role} session`,
        cookie: String(login.headers['set-cookie']).split(';')[0]!,
        session: true,
      });
    }
    const bSa = await t.request('POST', `/v1/projects/${teamB}/service-accounts`, {
      token,
      body: { name: uniqueId('sa-b').toLowerCase(), role: 'admin' },
    });
    ok(bSa, 'team b service account');
    for (const scope of SCOPES) {
      const k = await t.request('POST', `/v1/projects/${teamB}/api-keys`, {
        token,
        body: { name: `b-${scope}`, scopes: [scope], serviceAccountId: bSa.json.id },
      });
      ok(k, `team b key ${scope}`);
      callers.push({ who: `key ${scope}`, token: k.json.secret, session: false });
    }

    const doc = (await t.request('GET', '/docs/openapi.json')).json;
    ops = Object.entries<Record<string, { 'x-modelyard-permission'?: string }>>(doc.paths).flatMap(([p, item]) =>
      Object.entries(item)
        .filter(([, op]) => op['x-modelyard-permission'])
        .map(([method]) => ({ method: method.toUpperCase(), path: p })),
    );
    before0 = await teamAState();
  });
  after(() => t?.close());

  /** Team A's names and ids where the route takes them. */
  const fill = (p: string) =>
    p.replace(/\{([a-zA-Z]+)\}/g, (_m, param: string) => {
      if (param === 'name') return a.model;
      if (param === 'version' || param === 'number') return '1';
      if (param === 'alias' || param === 'label') return 'champ';
      if (param === 'kind') return 'user';
      if (param === 'id') {
        if (p.startsWith('/v1/webhooks')) return a.webhookId;
        if (p.startsWith('/v1/service-accounts')) return a.saId;
        if (p.startsWith('/v1/api-keys')) return a.keyId;
      }
      return randomUUID();
    });

  /** Bodies that would change team A's objects if a route let them through. */
  const bodyFor = (op: Operation) => {
    if (!['POST', 'PUT', 'PATCH'].includes(op.method)) return undefined;
    if (op.path.endsWith('/aliases/{alias}')) return { version: 1 };
    if (op.path.endsWith('/stage')) return { stage: 'Archived' };
    if (op.path === '/v1/models/{name}') return { description: 'changed by team b', tags: { owned: 'b' } };
    if (op.path === '/v1/service-accounts/{id}') return { role: 'admin', disabled: true };
    if (op.path === '/v1/models/{name}/predict') return { instances: [[5.1, 3.5, 1.4, 0.2]] };
    return {};
  };

  /** The route bare, in team A's project and in team B's, in the URL form its path takes. */
  const forms = (p: string) => {
    const qualify = (project: string) =>
      p.startsWith('/v1/') ? `/v1/projects/${project}${p.slice(3)}` : `/projects/${project}${p}`;
    return [p, qualify('default'), qualify(teamB)];
  };

  it('answers no caller of another project with any of its objects, and changes none of them', async () => {
    // Not the model's name: team B may name a model of its own so, and routes echo the name they were asked for.
    const markers = [a.secret, a.webhookUrl, a.webhookId, a.sa, a.saId, a.keyId, a.keyPrefix];
    let calls = 0;
    let answered = 0;
    const reads: string[] = [];
    for (const op of ops) {
      const filled = fill(op.path);
      for (const c of callers)
        for (const url of forms(filled)) {
          const r = await t.request(op.method, url, { cookie: c.cookie, token: c.token, body: bodyFor(op) });
          calls++;
          if (r.status < 300) answered++;
          if (r.status < 300 && markers.some((m) => r.body.includes(m)))
            reads.push(`${c.who}: ${op.method} ${url} ${r.status} ${r.body.slice(0, 200)}`);
        }
    }
    const writes = JSON.stringify(await teamAState()) === JSON.stringify(before0) ? 0 : 1;
    console.log(
      `cross-project walk: ${ops.length} operations x ${callers.length} callers x 3 URL forms = ${calls} calls, ` +
        `${answered} answered 2xx (in team B's own project), ${reads.length} read team A's objects, ` +
        `${writes} changed them`,
    );
    assert.deepEqual(reads, []);
    assert.deepEqual(await teamAState(), before0);
  });

  it('serves team A its own objects at the same URLs (the walk did not just find nothing)', async () => {
    const token = t.adminKey;
    const own = await t.request('GET', `/v1/models/${a.model}`, { token });
    assert.equal(own.status, 200);
    const qualified = await t.request('GET', `/v1/projects/default/models/${a.model}`, { token });
    assert.equal(qualified.json.name, a.model);
    const inB = await t.request('GET', `/v1/projects/${teamB}/models/${a.model}`, { token });
    assert.equal(inB.status, 404, inB.body);
  });

  it('keeps model names per project: team B registers a model of team A name, and each sees its own', async () => {
    const bAdmin = callers.find((c) => c.who === 'admin session')!;
    const created = await t.request('POST', '/v1/projects/' + teamB + '/models', {
      cookie: bAdmin.cookie,
      body: { name: a.model, description: 'team b model' },
    });
    assert.equal(created.status, 201, created.body);
    assert.equal(created.json.name, a.model);
    const inB = await t.request('GET', `/v1/projects/${teamB}/models/${a.model}`, { cookie: bAdmin.cookie });
    assert.equal(inB.json.description, 'team b model');
    const inA = await t.request('GET', `/v1/models/${a.model}`, { token: t.adminKey });
    assert.notEqual(inA.json.id, inB.json.id);
    assert.notEqual(inA.json.description, 'team b model');
  });

  it('refuses team B an artifact in team A storage by URI (403), and registers nothing', async () => {
    const bAdmin = callers.find((c) => c.who === 'admin session')!;
    const aVersion = await t.request('GET', `/v1/models/${a.model}/versions/1`, { token: t.adminKey });
    const uri: string = aVersion.json.storage.uri;
    const bModel = uniqueId('xb').toLowerCase();
    const stolen = await t.request('POST', `/v1/projects/${teamB}/models/${bModel}/versions`, {
      cookie: bAdmin.cookie,
      body: { artifactUri: uri },
    });
    assert.equal(stolen.status, 403, stolen.body);
    assert.match(stolen.json.error.message, /artifactUri is the platform's own storage or another project's/);
    const none = await t.request('GET', `/v1/projects/${teamB}/models/${bModel}`, { cookie: bAdmin.cookie });
    assert.equal(none.status, 404, 'no model was created for the refused version');
    // Nor in team A's own project may anyone point at the platform's copy of a model's artifact.
    const copied = await t.request('POST', `/v1/models/${uniqueId('xa2').toLowerCase()}/versions`, {
      token: t.adminKey,
      body: { artifactUri: uri },
    });
    assert.equal(copied.status, 403, copied.body);
  });

  it('refuses a team B session in the default project: 403 bare, and 404 named, as for no such project', async () => {
    const bViewer = callers.find((c) => c.who === 'viewer session')!;
    const bare = await t.request('GET', '/v1/models', { cookie: bViewer.cookie });
    assert.equal(bare.status, 403, bare.body);
    const named = await t.request('GET', '/v1/projects/default/models', { cookie: bViewer.cookie });
    assert.equal(named.status, 404, named.body);
    const unknown = await t.request('GET', '/v1/projects/no-such-project/models', { cookie: bViewer.cookie });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.message, named.json.error.message.replace('default', 'no-such-project'));
  });
});
