import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { e2eEnv, http, TEST_PASSWORD, uniqueEmail, uniqueId } from '@modelyard/testing';
import { irisCsv, records, registerFixture, samples, submitBatchJob } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();
/** The last migration before projects: the database an existing install has when it upgrades. */
const BEFORE_PROJECTS = '20261206100630_sso';
const ROLES = ['viewer', 'scientist', 'approver', 'admin'] as const;
const row = records(samples('iris_logreg'))[0]!;
const features = Object.values(row);
const slug = (p: string) => uniqueId(p).toLowerCase();

/** The session cookie a login answer set. */
const sessionOf = (r: { headers: Headers }) =>
  r.headers
    .getSetCookie()
    .find((c) => c.startsWith('modelyard_session='))!
    .split(';')[0]!;

type Migrations = { applyMigrations(url: string, opts?: { until?: string }): Promise<string[]> };

async function finished(token: string, id: string) {
  for (let i = 0; i < 600; i++) {
    const r = await http(env.apiUrl, 'GET', `/v1/jobs/${id}`, { token });
    if (!['queued', 'running'].includes(r.json.status)) return r.json;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`job ${id} did not finish`);
}

/**
 * Upgrading keeps everything: a database migrated up to the migration before projects gets the rows an install
 * had then (users of every role, models with versions and an alias, service accounts' keys with scopes and model
 * allow-lists, a user's key, a batch job and an async job, a webhook), made by the running
 * platform and copied column by column into that older schema. The later migrations are applied, an api process
 * is started on the upgraded database, and every model, key and URL works in the `default` project with the
 * roles they had.
 */
describe('upgrading a database from before projects', () => {
  const db = `upgrade_${uniqueId('p').replace(/-/g, '_')}`;
  const urlOf = (name: string) => {
    const u = new URL(process.env.DATABASE_URL!);
    u.pathname = `/${name}`;
    return u.href;
  };
  const adminToken = env.adminApiKey;
  const m1 = slug('legacy-iris');
  const m2 = slug('legacy-other');
  const users: Record<string, { id: string; email: string }> = {};
  const keys: Record<string, { id: string; secret: string }> = {};
  const ids = { sas: [] as string[], models: [] as string[], jobs: [] as string[], webhook: '' };
  let batchJob = '';
  let asyncJob = '';
  let hookUrl = '';
  let answersBefore: Record<string, unknown> = {};
  let outputBefore = '';
  let api: { url: string; proc: AppProcess } | undefined;
  const server = new pg.Client({ connectionString: process.env.DATABASE_URL });

  /** Every sync predict URL form of every request format, bare and qualified with the default project. */
  const predictions = (model: string): [string, string, unknown][] => {
    const m = `/v1/models/${model}`;
    const oip = { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: features }] };
    const forms: [string, string, unknown][] = [
      ['v1', `${m}/predict`, { payload: [row] }],
      ['v1 alias', `${m}/aliases/champ/predict`, { payload: [row] }],
      ['v1 version', `${m}/versions/1/predict`, { payload: [row] }],
      ['OIP v2', `/v2/models/${model}/infer`, oip],
      ['OIP v2 alias', `/v2/models/${model}/versions/champ/infer`, oip],
      ['TFS', `${m}:predict`, { instances: [features] }],
      ['TFS label', `${m}/labels/champ:predict`, { instances: [features] }],
      ['MLflow', `${m}/invocations`, { dataframe_records: [row] }],
    ];
    return [
      ...forms,
      ...forms.map(([w, u, b]): [string, string, unknown] => [`${w} in /projects/default`, `/projects/default${u}`, b]),
    ];
  };

  const answers = async (base: string, token: string) => {
    const out: Record<string, unknown> = {};
    for (const [what, url, body] of predictions(m1)) {
      const r = await http(base, 'POST', url, { token, body });
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      const json = { ...r.json };
      delete json.id;
      delete json.prediction_id;
      out[what] = { json, version: r.headers.get('x-model-version') };
    }
    return out;
  };

  before(async () => {
    await server.connect();
    const admin = (method: string, p: string, body?: unknown) =>
      http(env.apiUrl, method, p, { token: adminToken, body });
    // What an install had before projects, made by the running platform in the default project.
    for (const role of ROLES) {
      const email = uniqueEmail(`legacy-${role}`);
      const u = await admin('POST', '/v1/users', { email, password: TEST_PASSWORD, role });
      assert.equal(u.status, 201, u.text);
      users[role] = { id: u.json.id, email };
    }
    await registerFixture(env.apiUrl, adminToken, 'iris_logreg', { model: m1 });
    await registerFixture(env.apiUrl, adminToken, 'iris_rf', { model: m1, promote: false });
    await registerFixture(env.apiUrl, adminToken, 'iris_rf', { model: m2 });
    assert.equal((await admin('PUT', `/v1/models/${m1}/aliases/champ`, { version: 2 })).status, 200);
    for (const m of [m1, m2]) ids.models.push((await admin('GET', `/v1/models/${m}`)).json.id);
    const key = async (name: string, role: string, scopes: string[], modelAllowList: string[] = []) => {
      const sa = await admin('POST', '/v1/service-accounts', { name: slug(`legacy-${name}`), role });
      assert.equal(sa.status, 201, sa.text);
      ids.sas.push(sa.json.id);
      const k = await admin('POST', '/v1/api-keys', { name, scopes, serviceAccountId: sa.json.id, modelAllowList });
      assert.equal(k.status, 201, k.text);
      keys[name] = { id: k.json.apiKey.id, secret: k.json.secret };
    };
    await key('predict-m1', 'viewer', ['predict'], [m1]);
    await key('scientist', 'scientist', ['predict', 'models:read', 'models:write', 'jobs']);
    await key('approver', 'approver', ['models:read', 'models:write', 'models:promote']);
    // A user's own key: made in their session.
    const login = await http(env.apiUrl, 'POST', '/v1/auth/login', {
      body: { email: users.scientist!.email, password: TEST_PASSWORD },
    });
    const cookie = sessionOf(login);
    const own = await http(env.apiUrl, 'POST', '/v1/api-keys', {
      cookie,
      body: { name: 'mine', scopes: ['models:read'] },
    });
    assert.equal(own.status, 201, own.text);
    keys.mine = { id: own.json.apiKey.id, secret: own.json.secret };
    hookUrl = `https://hooks.example.com/${uniqueId('cb')}`;
    const hook = await admin('POST', '/v1/webhooks', { url: hookUrl, events: ['model.created'] });
    assert.ok(hook.status < 300, hook.text);
    ids.webhook = hook.json.webhook?.id ?? hook.json.id;
    batchJob = await submitBatchJob(env.apiUrl, adminToken, { model: m1 }, irisCsv(12));
    assert.equal((await finished(adminToken, batchJob)).status, 'succeeded');
    const async = await admin('POST', `/v1/models/${m1}/predict:async`, { payload: [row] });
    assert.equal(async.status, 202, async.text);
    asyncJob = async.json.jobId;
    assert.equal((await finished(adminToken, asyncJob)).status, 'succeeded');
    ids.jobs.push(batchJob, asyncJob);
    answersBefore = await answers(env.apiUrl, keys['predict-m1']!.secret);
    outputBefore = (await (
      await fetch(`${env.apiUrl}/v1/jobs/${batchJob}/files/output`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).text()) as string;

    // The database as it was before projects, holding those rows (only the columns it had then).
    await server.query(`CREATE DATABASE "${db}"`);
    const m = (await import(pathToFileURL(path.resolve('scripts/migrations.mjs')).href)) as Migrations;
    const first = await m.applyMigrations(urlOf(db), { until: BEFORE_PROJECTS });
    assert.equal(first[first.length - 1], BEFORE_PROJECTS);
    const old = new pg.Client({ connectionString: urlOf(db) });
    await old.connect();
    try {
      const copy = async (table: string, column: string, values: string[]) => {
        const rows = await server.query(
          `SELECT to_jsonb(t) AS j FROM "${table}" t WHERE "${column}" = ANY($1::uuid[])`,
          [values],
        );
        assert.ok(rows.rows.length > 0, `${table} rows to copy`);
        for (const r of rows.rows)
          await old.query(`INSERT INTO "${table}" SELECT * FROM jsonb_populate_record(NULL::"${table}", $1::jsonb)`, [
            r.j,
          ]);
      };
      await copy(
        'User',
        'id',
        Object.values(users).map((u) => u.id),
      );
      await copy('ServiceAccount', 'id', ids.sas);
      await copy(
        'ApiKey',
        'id',
        Object.values(keys).map((k) => k.id),
      );
      await copy('RegisteredModel', 'id', ids.models);
      await copy('ModelVersion', 'modelId', ids.models);
      await copy('ModelAlias', 'modelId', ids.models);
      await copy('Webhook', 'id', [ids.webhook]);
      await copy('Job', 'id', ids.jobs);
      const cols = await old.query(
        `SELECT column_name FROM information_schema.columns
          WHERE table_name = 'RegisteredModel' AND column_name = 'projectId'`,
      );
      assert.equal(cols.rows.length, 0, 'the database is from before projects');
    } finally {
      await old.end();
    }

    // The upgrade, then an api on the upgraded database.
    const rest = await m.applyMigrations(urlOf(db));
    assert.ok(rest.includes('20261206123413_projects'), rest.join(', '));
    const port = await freePort();
    const proc = startApp('upgraded-api', 'api', {
      DATABASE_URL: urlOf(db),
      REDIS_PREFIX: uniqueId('upgrade'),
      API_PORT: String(port),
    });
    api = { url: `http://127.0.0.1:${port}`, proc };
    await waitReady(`${api.url}/readyz`, proc);
  });
  after(async () => {
    await api?.proc.kill();
    await server.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => {});
    await server.end();
  });

  const sessions = new Map<string, string>();
  /** A session of the user who had `role` (one sign-in each). */
  const loginAs = async (role: string) => {
    if (!sessions.has(role)) {
      const r = await http(api!.url, 'POST', '/v1/auth/login', {
        body: { email: users[role]!.email, password: TEST_PASSWORD },
      });
      assert.equal(r.status, 200, r.text);
      sessions.set(role, sessionOf(r));
    }
    return sessions.get(role)!;
  };

  it('signs every user in with the role they had, now their role in the default project', async () => {
    for (const role of ROLES) {
      const cookie = await loginAs(role);
      const me = await http(api!.url, 'GET', '/v1/me', { cookie });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.json.role, role);
      const named = await http(api!.url, 'GET', `/v1/projects/default/models/${m1}`, { cookie });
      assert.equal(named.status, 200, `${role}: ${named.text}`);
    }
    const viewer = await loginAs('viewer');
    assert.equal(
      (await http(api!.url, 'PATCH', `/v1/models/${m1}`, { cookie: viewer, body: { description: 'x' } })).status,
      403,
    );
    const scientist = await loginAs('scientist');
    const patch = await http(api!.url, 'PATCH', `/v1/models/${m2}`, {
      cookie: scientist,
      body: { description: 'kept' },
    });
    assert.equal(patch.status, 200, patch.text);
    const promote = await http(api!.url, 'POST', `/v1/models/${m2}/versions/1/stage`, {
      cookie: scientist,
      body: { stage: 'Archived' },
    });
    assert.equal(promote.status, 403, promote.text);
    const admin = await loginAs('admin');
    const projects = await http(api!.url, 'GET', '/v1/projects', { cookie: admin });
    assert.deepEqual(
      projects.json.map((p: { name: string }) => p.name),
      ['default'],
    );
  });

  it('keeps every model with its versions, stages and alias, at the same URLs', async () => {
    const token = keys.scientist!.secret;
    const list = await http(api!.url, 'GET', '/v1/models?limit=100', { token });
    assert.deepEqual(list.json.items.map((m: { name: string }) => m.name).sort(), [m1, m2].sort());
    const model = await http(api!.url, 'GET', `/v1/models/${m1}`, { token });
    assert.equal(model.status, 200, model.text);
    assert.deepEqual(model.json.aliases, { champ: 2 });
    const versions = await http(api!.url, 'GET', `/v1/models/${m1}/versions`, { token });
    const rows = versions.json.map((v: { version: number; stage: string; status: string }) => [
      v.version,
      v.stage,
      v.status,
    ]);
    assert.deepEqual(
      rows.sort((x: number[], y: number[]) => x[0]! - y[0]!),
      [
        [1, 'Production', 'ready'],
        [2, 'None', 'ready'],
      ],
    );
    const qualified = await http(api!.url, 'GET', `/v1/projects/default/models/${m1}/versions/2`, { token });
    assert.equal(qualified.status, 200, qualified.text);
  });

  it('answers every request format as before, for a key limited to one model, and refuses it the other', async () => {
    assert.deepEqual(await answers(api!.url, keys['predict-m1']!.secret), answersBefore);
    const other = await http(api!.url, 'POST', `/v1/models/${m2}/predict`, {
      token: keys['predict-m1']!.secret,
      body: { payload: [row] },
    });
    assert.equal(other.status, 403, other.text);
    const keyList = await http(api!.url, 'GET', '/v1/api-keys', { cookie: await loginAs('admin') });
    const listed = keyList.json.find((k: { id: string }) => k.id === keys['predict-m1']!.id);
    assert.deepEqual([listed.scopes, listed.modelAllowList], [['predict'], [m1]]);
  });

  it("keeps keys' scopes: a user's own key reads, the approver's promotes, the scientist's cannot", async () => {
    assert.equal((await http(api!.url, 'GET', `/v1/models/${m2}`, { token: keys.mine!.secret })).status, 200);
    const denied = await http(api!.url, 'PATCH', `/v1/models/${m2}`, {
      token: keys.mine!.secret,
      body: { description: 'no' },
    });
    assert.equal(denied.status, 403, denied.text);
    const byScientist = await http(api!.url, 'POST', `/v1/models/${m1}/versions/2/stage`, {
      token: keys.scientist!.secret,
      body: { stage: 'Production' },
    });
    assert.equal(byScientist.status, 403, byScientist.text);
    const byApprover = await http(api!.url, 'POST', `/v1/models/${m1}/versions/2/stage`, {
      token: keys.approver!.secret,
      body: { stage: 'Production' },
    });
    assert.equal(byApprover.status, 200, byApprover.text);
    const served = await http(api!.url, 'POST', `/v1/models/${m1}/predict`, {
      token: keys['predict-m1']!.secret,
      body: { payload: [row] },
    });
    assert.equal(served.headers.get('x-model-version'), '2');
  });

  it('keeps jobs (status, result, files) and webhooks', async () => {
    const token = keys.scientist!.secret;
    const job = await http(api!.url, 'GET', `/v1/jobs/${batchJob}`, { token });
    assert.equal(job.status, 200, job.text);
    assert.equal(job.json.status, 'succeeded');
    assert.equal(job.json.model, m1);
    const output = await fetch(`${api!.url}/v1/jobs/${batchJob}/files/output`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(output.status, 200);
    assert.equal(await output.text(), outputBefore);
    const async = await http(api!.url, 'GET', `/v1/jobs/${asyncJob}`, { token });
    assert.equal(async.json.status, 'succeeded');
    assert.ok(async.json.result, 'the async result is kept');
    const listed = await http(api!.url, 'GET', `/v1/jobs?model=${m1}`, { token });
    assert.deepEqual(listed.json.items.map((j: { id: string }) => j.id).sort(), [batchJob, asyncJob].sort());
    const hooks = await http(api!.url, 'GET', '/v1/webhooks', { cookie: await loginAs('admin') });
    assert.deepEqual(
      hooks.json.map((h: { id: string; url: string }) => [h.id, h.url]),
      [[ids.webhook, hookUrl]],
    );
  });
});
