import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SCOPES } from '@modelyard/contracts';
import { e2eEnv, http, TEST_PASSWORD, uniqueEmail, uniqueId } from '@modelyard/testing';
import { irisCsv, records, registerFixture, samples } from '../support/fixtures.js';

const env = e2eEnv();
const ROOT = process.env.E2E_STORAGE_LOCAL_ROOT!;
const row = records(samples('iris_logreg'))[0]!;
const features = Object.values(row);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const slug = (p: string) => uniqueId(p).toLowerCase();

/** Who calls: an API key or a dashboard session (cookie). */
interface Caller {
  who: string;
  token?: string;
  cookie?: string;
}

const call = (c: Caller, method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
  http(env.apiUrl, method, url, { token: c.token, cookie: c.cookie, body, headers });

/** A multipart POST (a batch job with its input file, as the CLI and the dashboard send it). */
async function multipart(c: Caller, url: string, spec: unknown, csv: string) {
  const form = new FormData();
  form.append('spec', JSON.stringify(spec));
  form.append('file', new Blob([csv]), 'input.csv');
  const headers: Record<string, string> = c.token ? { authorization: `Bearer ${c.token}` } : { cookie: c.cookie! };
  const res = await fetch(new URL(url, env.apiUrl), { method: 'POST', headers, body: form });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

async function bytesOf(c: Caller, url: string) {
  const res = await fetch(new URL(url, env.apiUrl), { headers: { authorization: `Bearer ${c.token}` } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function finished(c: Caller, id: string) {
  for (let i = 0; i < 600; i++) {
    const r = await call(c, 'GET', `/v1/jobs/${id}`);
    assert.equal(r.status, 200, r.text);
    if (!['queued', 'running'].includes(r.json.status)) return r.json;
    await sleep(100);
  }
  throw new Error(`job ${id} did not finish within 60 s`);
}

/** A receiver for webhooks and callbacks on loopback: what it got, by path. */
async function receiver() {
  const got: { path: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got, server };
}

/**
 * Two teams on the running platform, each in a project of its own with its own models (registered, promoted, an
 * alias, a pilot, a silent version), API keys, an async job with a callback URL, batch jobs from an upload and
 * from its project storage, a schedule, a stream deployment and a webhook. Team B's scientist session, viewer
 * session and API key (and, for names that would spell another project's model key, callers of the default
 * project) try every cross-project read and write: each must be 404 or 403, and lists must show none of team A's
 * objects. Then team A's serving answers as before, its jobs' files are the same bytes and its rows are unchanged.
 */
describe('two teams on one platform', () => {
  const admin: Caller = { who: 'platform admin', token: env.adminApiKey };
  const A = slug('team-a');
  const B = slug('team-b');
  const a = {
    key: '',
    model: slug('fraud'),
    secret: uniqueId('team-a-secret'),
    artifactUri: '',
    asyncJob: '',
    batchJob: '',
    uriJob: '',
    uploadedInputUri: '',
    storedInputUri: '',
    prefix: '',
    schedule: '',
    stream: slug('events'),
    webhook: '',
    limitedKey: '',
    callbackUrl: '',
  };
  const b = { model: slug('churn'), key: '', adminKey: '' };
  let bCallers: Caller[] = [];
  let defaultCallers: Caller[] = [];
  let hooks: Awaited<ReturnType<typeof receiver>>;
  const teamA: Caller = { who: 'team A' };

  /** A user with `role` in `project` only (no role in the default project), signed in. */
  async function member(project: string, role: string, who: string): Promise<Caller> {
    const email = uniqueEmail(role);
    const u = await call(admin, 'POST', '/v1/users', { email, password: TEST_PASSWORD });
    assert.equal(u.status, 201, u.text);
    if (project !== 'default') {
      assert.equal((await call(admin, 'DELETE', `/v1/project/grants/user/${u.json.id}`)).status, 204);
    }
    const g = await call(admin, 'PUT', `/v1/projects/${project}/grants`, { kind: 'user', id: u.json.id, role });
    assert.ok(g.status < 300, g.text);
    const login = await http(env.apiUrl, 'POST', '/v1/auth/login', { body: { email, password: TEST_PASSWORD } });
    assert.equal(login.status, 200, login.text);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('modelyard_session='))!;
    return { who, cookie: cookie.split(';')[0]! };
  }

  /** A key of a service account of `role` in `project`. */
  async function projectKey(project: string, role: string, scopes: string[], models: string[] = []) {
    const sa = await call(admin, 'POST', `/v1/projects/${project}/service-accounts`, { name: slug('sa'), role });
    assert.equal(sa.status, 201, sa.text);
    const k = await call(admin, 'POST', `/v1/projects/${project}/api-keys`, {
      name: 'k',
      scopes,
      serviceAccountId: sa.json.id,
      ...(models.length && { modelAllowList: models }),
    });
    assert.equal(k.status, 201, k.text);
    return k.json.secret as string;
  }

  /** Everything of team A's a caller could change, as team A reads it. */
  async function teamAState() {
    const get = async (url: string) => {
      const r = await call(teamA, 'GET', url);
      assert.equal(r.status, 200, `${url}: ${r.text}`);
      return r.json;
    };
    const model = await get(`/v1/models/${a.model}`);
    const deployment = await get(`/v1/models/${a.model}/deployment`);
    const jobs = await get(`/v1/jobs?limit=100`);
    return {
      model: {
        description: model.description,
        tags: model.tags,
        aliases: model.aliases,
        servingConfig: model.servingConfig,
      },
      versions: (await get(`/v1/models/${a.model}/versions`)).map((v: any) => [v.version, v.stage, v.status]),
      deployment: deployment.current && { revision: deployment.current.revision, config: deployment.current.config },
      jobs: jobs.items.map((j: any) => [j.id, j.status, j.callbackUrl ?? null, j.inputUri ?? null]).sort(),
      schedules: (await get('/v1/schedules')).map((s: any) => [s.id, s.paused, s.inputPrefix]),
      streams: (await get(`/v1/models/${a.model}/streams`)).map((s: any) => [s.name, s.paused, s.source, s.sink]),
      webhooks: (await get('/v1/webhooks')).map((w: any) => [w.id, w.url, w.active ?? null]),
      keys: (await get('/v1/api-keys')).map((k: any) => [k.id, k.revokedAt]).sort(),
    };
  }

  /** Team A's answers in every request format (the prediction id is fresh each time, so left out). */
  async function teamAServing() {
    const out: Record<string, unknown> = {};
    for (const [what, url, body] of predictUrls(a.model)) {
      const r = await call(teamA, 'POST', url, body);
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      const json = { ...r.json };
      delete json.id;
      delete json.prediction_id;
      out[what] = { body: json, version: r.headers.get('x-model-version'), role: r.headers.get('x-deployment-role') };
    }
    return out;
  }

  /** Every sync predict route of every request format on a model, with a body each takes. */
  function predictUrls(model: string): [string, string, unknown][] {
    const m = `/v1/models/${model}`;
    const oip = { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: features }] };
    const tfs = { instances: [features] };
    const mlflow = { dataframe_records: [row] };
    const ours = { payload: [row] };
    return [
      ['v1', `${m}/predict`, ours],
      ['v1 version', `${m}/versions/1/predict`, ours],
      ['v1 alias', `${m}/aliases/champ/predict`, ours],
      ['OIP v2', `/v2/models/${model}/infer`, oip],
      ['OIP v2 version', `/v2/models/${model}/versions/1/infer`, oip],
      ['OIP v2 alias', `/v2/models/${model}/versions/champ/infer`, oip],
      ['TFS', `${m}:predict`, tfs],
      ['TFS version', `${m}/versions/1:predict`, tfs],
      ['TFS label', `${m}/labels/champ:predict`, tfs],
      ['MLflow', `${m}/invocations`, mlflow],
      ['MLflow alias', `${m}/aliases/champ/invocations`, mlflow],
    ];
  }

  before(async () => {
    hooks = await receiver();
    a.callbackUrl = `${hooks.url}/callback/${a.secret}`;
    for (const p of [A, B]) assert.equal((await call(admin, 'POST', '/v1/projects', { name: p })).status, 201);

    // Team A: a key of its admin service account does everything below with bare URLs (a key acts in its project).
    a.key = await projectKey(A, 'admin', [...SCOPES]);
    teamA.token = a.key;
    await call(teamA, 'POST', '/v1/models', { name: a.model, description: a.secret, tags: { owner: a.secret } });
    await registerFixture(env.apiUrl, a.key, 'iris_logreg', { model: a.model });
    const v2 = await registerFixture(env.apiUrl, a.key, 'iris_rf', { model: a.model, promote: false });
    const v3 = await registerFixture(env.apiUrl, a.key, 'iris_rf', { model: a.model, promote: false });
    assert.equal((await call(teamA, 'PUT', `/v1/models/${a.model}/aliases/champ`, { version: 1 })).status, 200);
    const groups = await call(admin, 'POST', '/v1/groups', { name: slug('a-pilots') });
    assert.equal(groups.status, 201, groups.text);
    const dep = await call(teamA, 'PUT', `/v1/models/${a.model}/deployment`, {
      config: {
        pilots: [{ version: v2.version, groups: [groups.json.id] }],
        silent: [{ version: v3.version, sampleRate: 0.5 }],
      },
      comment: 'team a pilot and silent version',
    });
    assert.equal(dep.status, 200, dep.text);
    a.artifactUri = (await call(teamA, 'GET', `/v1/models/${a.model}/versions/1`)).json.storage.uri;
    a.limitedKey = await projectKey(A, 'viewer', ['predict'], [a.model]);

    // Team A's jobs: async with a callback URL, a batch from an upload, a batch from its project storage.
    const async = await call(
      teamA,
      'POST',
      `/v1/models/${a.model}/predict:async`,
      { payload: [row] },
      { 'x-callback-url': a.callbackUrl, 'x-callback-secret': 'team-a-callback-secret-0123' },
    );
    assert.equal(async.status, 202, async.text);
    a.asyncJob = async.json.jobId;
    const batch = await multipart(teamA, '/v1/jobs', { model: a.model }, irisCsv(25, a.secret));
    assert.equal(batch.status, 202, batch.text);
    a.batchJob = batch.json.id;
    const dir = path.join(ROOT, 'projects', A, 'scoring');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'in.csv'), irisCsv(10, a.secret));
    a.prefix = `${pathToFileURL(dir).href}/`;
    a.storedInputUri = `${a.prefix}in.csv`;
    const uriJob = await call(teamA, 'POST', '/v1/jobs', { model: a.model, inputUri: a.storedInputUri });
    assert.equal(uriJob.status, 202, uriJob.text);
    a.uriJob = uriJob.json.id;
    for (const id of [a.asyncJob, a.batchJob, a.uriJob]) assert.equal((await finished(teamA, id)).status, 'succeeded');
    a.uploadedInputUri = (await call(teamA, 'GET', `/v1/jobs/${a.batchJob}`)).json.inputUri;

    // Its schedule (paused: the test runs it by hand), stream deployment and webhook.
    const sched = await call(teamA, 'POST', '/v1/schedules', {
      name: 'nightly',
      model: a.model,
      cron: '0 3 * * *',
      inputPrefix: a.prefix,
    });
    assert.equal(sched.status, 201, sched.text);
    a.schedule = sched.json.id;
    assert.equal((await call(teamA, 'POST', `/v1/schedules/${a.schedule}/pause`)).status, 200);
    const stream = await call(teamA, 'POST', `/v1/models/${a.model}/streams`, {
      name: a.stream,
      source: `${a.stream}.in`,
      sink: `${a.stream}.out`,
    });
    assert.equal(stream.status, 201, stream.text);
    const hook = await call(teamA, 'POST', '/v1/webhooks', {
      url: `${hooks.url}/hook/${a.secret}`,
      events: ['model.created', 'version.registered', 'alias.changed', 'deployment.changed', 'stream.changed'],
      description: a.secret,
    });
    assert.ok(hook.status < 300, hook.text);
    a.webhook = hook.json.webhook?.id ?? hook.json.id;

    // Team B: a model of its own, a scientist and a viewer (sessions), and a scientist's key.
    b.key = await projectKey(B, 'scientist', [
      'predict',
      'models:read',
      'models:write',
      'jobs',
      'predict:callback',
      'predict:any-version',
    ]);
    b.adminKey = await projectKey(B, 'admin', [...SCOPES]);
    await registerFixture(env.apiUrl, b.adminKey, 'iris_logreg', { model: b.model });
    bCallers = [await member(B, 'scientist', 'B scientist session'), await member(B, 'viewer', 'B viewer session')];
    bCallers.push({ who: 'B scientist key', token: b.key }, { who: 'B admin key', token: b.adminKey });
    // Callers of the default project: a model name there is its key, so a name holding "/" would spell team A's.
    defaultCallers = [
      await member('default', 'scientist', 'default scientist session'),
      {
        who: 'default scientist key',
        token: await projectKey('default', 'scientist', ['predict', 'models:read', 'models:write', 'jobs']),
      },
    ];
  });
  after(() => hooks?.server.close());

  it("refuses team B's sessions and key every read and write of team A's (404/403), lists none of it", async () => {
    const servingBefore = await teamAServing();
    const stateBefore = await teamAState();
    const jobFiles = async () => {
      const out: Record<string, string> = {};
      for (const id of [a.batchJob, a.uriJob])
        for (const kind of ['input', 'output']) {
          const r = await bytesOf(teamA, `/v1/jobs/${id}/files/${kind}`);
          assert.equal(r.status, 200);
          out[`${id}/${kind}`] = r.bytes.toString('base64');
        }
      return out;
    };
    const filesBefore = await jobFiles();
    const markers = [
      a.secret,
      a.asyncJob,
      a.batchJob,
      a.uriJob,
      a.schedule,
      a.webhook,
      a.callbackUrl,
      a.artifactUri,
      a.uploadedInputUri,
      a.prefix,
      a.stream,
      `${A}/`,
    ];
    const m = `/v1/models/${a.model}`;
    /** [method, path, body]: routes that name one of team A's objects; each must be 404 or 403. */
    const named: [string, string, unknown?][] = [
      // Models, versions, aliases, deployment, serving config.
      ['GET', m],
      ['GET', `${m}/versions`],
      ['GET', `${m}/versions/1`],
      ['GET', `${m}/versions/1/artifact`],
      ['GET', `${m}/history`],
      ['GET', `${m}/deployment`],
      ['GET', `${m}/deployment/revisions`],
      ['GET', `${m}/metrics`],
      ['GET', `${m}/alert-rules`],
      ['GET', `${m}/drift`],
      ['GET', `${m}/performance`],
      [
        'PATCH',
        m,
        { description: 'team b was here', servingConfig: { microBatch: { maxBatchRows: 64, maxWaitUs: 90000 } } },
      ],
      ['PUT', `${m}/aliases/champ`, { version: 2 }],
      ['PUT', `${m}/aliases/backdoor`, { version: 2 }],
      ['DELETE', `${m}/aliases/champ`],
      ['POST', `${m}/versions/2/stage`, { stage: 'Production' }],
      ['PATCH', `${m}/versions/2`, { description: 'team b' }],
      ['DELETE', `${m}/versions/3`],
      ['DELETE', m],
      ['POST', `${m}/versions`, { artifactUri: a.artifactUri }],
      ['PUT', `${m}/deployment`, { config: { silent: [{ version: 2, sampleRate: 1 }] }, comment: 'b' }],
      ['PUT', `${m}/deployment`, { config: { pilots: [{ version: 2, percentage: 100 }] }, comment: 'b' }],
      ['POST', `${m}/deployment/rollback`, {}],
      ['POST', `${m}/deployment/promote-pilot`, { version: 2 }],
      ['PUT', `${m}/alert-rules`, { rules: [] }],
      ['POST', `${m}/feedback`, { labels: [{ predictionId: a.asyncJob, label: 1 }] }],
      ['GET', `${m}/predictions/${a.secret}`],
      // Predictions in every request format, sync and async, and explanations.
      ...predictUrls(a.model).map(([, url, body]) => ['POST', url, body] as [string, string, unknown]),
      ['POST', `${m}/predict:async`, { payload: [row] }],
      ['POST', `${m}/explain`, { payload: [row] }],
      ['POST', `${m}/versions/1/explain`, { payload: [row] }],
      ['POST', `${m}/aliases/champ/explain`, { payload: [row] }],
      ['GET', `${m}/slo`],
      ['GET', `${m}/performance/compare?version=2`],
      ['GET', `${m}/versions/1/drift-profile`],
      ['POST', `${m}/versions/1/drift-profile`],
      ['POST', `${m}/versions/1/drift-reports`, { datasetUri: a.storedInputUri }],
      ['GET', `/v2/models/${a.model}`],
      ['GET', `/v2/models/${a.model}/ready`],
      ['GET', `${m}/metadata`],
      ['GET', `${m}/labels/champ`],
      // Jobs, their files, results and callback URLs.
      ...[a.asyncJob, a.batchJob, a.uriJob].flatMap((id): [string, string, unknown?][] => [
        ['GET', `/v1/jobs/${id}`],
        ['GET', `/v1/jobs/${id}/files/input`],
        ['GET', `/v1/jobs/${id}/files/output`],
        ['GET', `/v1/jobs/${id}/files/errors`],
        ['POST', `/v1/jobs/${id}/cancel`],
        ['POST', `/v1/jobs/${id}/retry`],
      ]),
      // Schedules, streams, webhooks.
      ['POST', `/v1/schedules/${a.schedule}/resume`],
      ['POST', `/v1/schedules/${a.schedule}/run`],
      ['DELETE', `/v1/schedules/${a.schedule}`],
      ['GET', `${m}/streams`],
      ['GET', `${m}/streams/${a.stream}`],
      ['POST', `${m}/streams`, { name: slug('s'), source: 'x.in', sink: 'x.out' }],
      ['PATCH', `${m}/streams/${a.stream}`, { paused: true }],
      ['POST', `${m}/streams/${a.stream}/pause`],
      ['POST', `${m}/streams/${a.stream}/rewind`, { fromId: '0-0' }],
      ['DELETE', `${m}/streams/${a.stream}`],
      ['GET', `/v1/webhooks/${a.webhook}/deliveries`],
      ['DELETE', `/v1/webhooks/${a.webhook}`],
      // MLflow's registry API.
      ['GET', `/api/2.0/mlflow/registered-models/get?name=${a.model}`],
      ['GET', `/api/2.0/mlflow/model-versions/get-download-uri?name=${a.model}&version=1`],
      ['POST', '/api/2.0/mlflow/registered-models/alias', { name: a.model, alias: 'champ', version: '2' }],
      ['DELETE', '/api/2.0/mlflow/registered-models/alias', { name: a.model, alias: 'champ' }],
      ['POST', '/api/2.0/mlflow/model-versions/transition-stage', { name: a.model, version: '2', stage: 'Production' }],
      ['DELETE', '/api/2.0/mlflow/model-versions/delete', { name: a.model, version: '3' }],
    ];
    /** Team B's own model pointed at team A's storage: refused whatever the URL. */
    const storage: [string, string, unknown][] = [
      ['POST', `/v1/models/${b.model}/versions`, { artifactUri: a.artifactUri }],
      ['POST', `/v1/models/${b.model}/versions`, { artifactUri: a.storedInputUri }],
      ['POST', '/v1/jobs', { model: b.model, inputUri: a.uploadedInputUri }],
      ['POST', `/v1/models/${b.model}/versions/1/drift-reports`, { datasetUri: a.storedInputUri }],
      ['POST', `/v1/models/${b.model}/versions/1/drift-reports`, { datasetUri: a.uploadedInputUri }],
      ['POST', '/v1/jobs', { model: b.model, inputUri: a.storedInputUri, outputPrefix: a.prefix }],
      ['POST', '/v1/jobs', { model: b.model, inputUri: a.storedInputUri }],
      [
        'POST',
        '/v1/jobs',
        { model: b.model, inputUri: `${pathToFileURL(ROOT).href}/projects/${B}/../${A}/scoring/in.csv` },
      ],
      ['POST', '/v1/schedules', { name: slug('s'), model: b.model, cron: '0 3 * * *', inputPrefix: a.prefix }],
      [
        'POST',
        '/v1/schedules',
        { name: slug('s'), model: b.model, cron: '0 3 * * *', inputPrefix: `${pathToFileURL(ROOT).href}/` },
      ],
    ];
    /** Lists a caller may read in its own project: they answer, and show nothing of team A's. */
    const lists = [
      '/v1/models',
      '/v1/jobs',
      `/v1/jobs?model=${a.model}`,
      '/v1/schedules',
      '/v1/streams',
      '/v1/webhooks',
      '/v1/api-keys',
      '/v1/service-accounts',
      '/v1/approvals',
      '/v1/alerts',
      '/v1/overview',
      '/v1/audit',
      '/api/2.0/mlflow/registered-models/search',
      '/api/2.0/mlflow/model-versions/search',
    ];
    /** The URL bare, in team A's project (both forms) and in the caller's own. */
    const forms = (p: string, own: string) => {
      const out = [p, `/projects/${A}${p}`, `/projects/${own}${p}`];
      if (p.startsWith('/v1/')) out.push(`/v1/projects/${A}${p.slice(3)}`);
      return out;
    };

    const crossings: string[] = [];
    const counts = { calls: 0, 400: 0, 403: 0, 404: 0, empty: 0, lists: 0 };
    /**
     * 404 or 403, or a status in `also` (a name that is no model name at all refused as such, 400). The metrics of
     * a name with no model in the caller's own project are an empty series: that shows nothing of team A's.
     */
    const refused = async (c: Caller, method: string, url: string, body?: unknown, also: number[] = []) => {
      const r = await call(c, method, url, body);
      counts.calls++;
      const empty = r.status === 200 && url.endsWith('/metrics') && r.json?.points?.length === 0;
      if (r.status === 403 || r.status === 404) counts[r.status]++;
      else if (also.includes(r.status)) counts[400]++;
      else if (empty && !markers.some((mk) => r.text.includes(mk))) counts.empty++;
      else crossings.push(`${c.who}: ${method} ${url} -> ${r.status} ${r.text.slice(0, 200)}`);
    };
    for (const c of bCallers) {
      for (const [method, p, body] of named) for (const url of forms(p, B)) await refused(c, method, url, body);
      for (const [method, p, body] of storage) await refused(c, method, p, body);
      // MLflow's registration refuses a source it cannot take with its own code (INVALID_PARAMETER_VALUE, 400).
      const mlflow = { name: b.model, source: a.artifactUri };
      await refused(c, 'POST', '/api/2.0/mlflow/model-versions/create', mlflow, [400]);
      for (const p of lists) {
        const r = await call(c, 'GET', p);
        counts.calls++;
        counts.lists++;
        const shown = markers.filter((mk) => r.text.includes(mk));
        if (r.status < 300 && shown.length) crossings.push(`${c.who}: GET ${p} shows ${shown.join(', ')}`);
        else if (r.status >= 500) crossings.push(`${c.who}: GET ${p} -> ${r.status}`);
      }
    }
    // The default project's model keys are bare names: a name spelling "<project>/<name>" must not reach A's model.
    const spelled = `${A}/${a.model}`;
    writeFileSync(path.join(ROOT, 'default-in.csv'), irisCsv(3));
    mkdirSync(path.join(ROOT, 'default-folder'), { recursive: true });
    for (const c of defaultCallers) {
      for (const [method, p, body] of [
        ['POST', '/v1/jobs', { model: spelled, inputUri: `${pathToFileURL(ROOT).href}/default-in.csv` }],
        [
          'POST',
          '/v1/schedules',
          {
            name: slug('s'),
            model: spelled,
            cron: '0 3 * * *',
            inputPrefix: `${pathToFileURL(ROOT).href}/default-folder/`,
          },
        ],
        ['GET', `/api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(spelled)}`],
        ['POST', '/api/2.0/mlflow/registered-models/alias', { name: spelled, alias: 'champ', version: '2' }],
        ['POST', `/v1/models/${encodeURIComponent(spelled)}/predict`, { payload: [row] }],
        ['GET', `/v1/models/${encodeURIComponent(spelled)}`],
      ] as [string, string, unknown?][])
        await refused(c, method, p, body, [400]);
      const job = await multipart(c, '/v1/jobs', { model: spelled }, irisCsv(3));
      counts.calls++;
      if (![400, 403, 404].includes(job.status)) crossings.push(`${c.who}: batch job on ${spelled} -> ${job.status}`);
      else counts[job.status as 400 | 403 | 404]++;
    }

    console.log(
      `two teams: ${counts.calls} calls by ${bCallers.length + defaultCallers.length} callers of other projects ` +
        `(${counts.lists} list reads showing nothing of team A's), ${counts[404]} answered 404, ` +
        `${counts[403]} answered 403, ${counts[400]} refused as invalid (400: a name spelling team A's model key, ` +
        `an MLflow source), ${counts.empty} empty metrics series for a name not in the caller's project, ` +
        `${crossings.length} crossed into team A`,
    );
    assert.deepEqual(crossings, []);
    const bVersions = await call({ who: 'b', token: b.key }, 'GET', `/v1/models/${b.model}/versions`);
    assert.equal(bVersions.json.length, 1, "team B's model got no version from team A's storage");

    // Team A: the same answers, the same job files, the same rows; its webhook saw nothing of team B's doing.
    assert.deepEqual(await teamAServing(), servingBefore);
    assert.deepEqual(await jobFiles(), filesBefore);
    assert.deepEqual(await teamAState(), stateBefore);
    // Team A's webhook never heard of team B's model or project (B registered its model after A's hook existed).
    await sleep(1500);
    const hook = (h: { path: string }) => h.path.startsWith('/hook/');
    const aboutB = hooks.got.filter((h) => hook(h) && (h.body.includes(B) || h.body.includes(b.model)));
    assert.deepEqual(
      aboutB.map((h) => h.body.slice(0, 200)),
      [],
    );
  });

  it("serves and shows team A its own objects, at its key's bare URLs and at the project's", async () => {
    const job = await call(teamA, 'GET', `/v1/jobs/${a.asyncJob}`);
    assert.equal(job.json.callbackUrl, a.callbackUrl);
    assert.equal(job.json.status, 'succeeded');
    assert.ok(
      hooks.got.some((h) => h.path === `/callback/${a.secret}`),
      'the callback arrived',
    );
    const input = await bytesOf(teamA, `/v1/jobs/${a.batchJob}/files/input`);
    assert.equal(input.bytes.toString(), irisCsv(25, a.secret));
    const p = await call(admin, 'POST', `/projects/${A}/v1/models/${a.model}/aliases/champ/predict`, {
      payload: [row],
    });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.headers.get('x-model-version'), '1');
    const limited = await call({ who: 'a', token: a.limitedKey }, 'POST', `/v2/models/${a.model}/infer`, {
      inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: features }],
    });
    assert.equal(limited.status, 200, limited.text);
    const viaB = await call(admin, 'GET', `/v1/projects/${B}/models/${a.model}`);
    assert.equal(viaB.status, 404, viaB.text);
  });

  it("keeps events and streams apart: B's webhook hears only B's; B's stream of A's stream names is B's", async () => {
    const bAdmin: Caller = { who: 'b admin', token: b.adminKey };
    const hook = await call(bAdmin, 'POST', '/v1/webhooks', {
      url: `${hooks.url}/b-hook/${B}`,
      events: ['alias.changed', 'deployment.changed', 'stream.changed'],
    });
    assert.ok(hook.status < 300, hook.text);
    const aStream = await call(teamA, 'GET', `/v1/models/${a.model}/streams/${a.stream}`);
    const bStream = await call(bAdmin, 'POST', `/v1/models/${b.model}/streams`, {
      name: a.stream,
      source: `${a.stream}.in`,
      sink: `${a.stream}.out`,
    });
    assert.equal(bStream.status, 201, bStream.text);
    assert.equal(bStream.json.source, aStream.json.source);
    assert.notEqual(bStream.json.keys.source, aStream.json.keys.source);
    assert.notEqual(bStream.json.keys.sink, aStream.json.keys.sink);
    const seen = hooks.got.length;
    assert.equal((await call(teamA, 'PUT', `/v1/models/${a.model}/aliases/canary`, { version: 2 })).status, 200);
    const aHeard = () => hooks.got.slice(seen).some((h) => h.path.startsWith('/hook/') && h.body.includes('canary'));
    for (let i = 0; i < 150 && !aHeard(); i++) await sleep(100);
    assert.ok(aHeard(), "team A's webhook got its alias.changed");
    // Team B's webhook works: it hears its own stream's creation; nothing else.
    const bOwn = () => hooks.got.some((h) => h.path.startsWith('/b-hook/') && h.body.includes(b.model));
    for (let i = 0; i < 150 && !bOwn(); i++) await sleep(100);
    assert.ok(bOwn(), "team B's webhook got its own stream.changed");
    await sleep(1000);
    const bHeard = hooks.got.filter((h) => h.path.startsWith('/b-hook/') && !h.body.includes(b.model));
    assert.deepEqual(
      bHeard.map((h) => h.body.slice(0, 200)),
      [],
    );
  });

  it('lets team B work in its own project meanwhile: its model predicts, its batch job runs', async () => {
    const key: Caller = { who: 'b', token: b.key };
    const p = await call(key, 'POST', `/v1/models/${b.model}/predict`, { payload: [row] });
    assert.equal(p.status, 200, p.text);
    const job = await multipart(key, '/v1/jobs', { model: b.model }, irisCsv(5));
    assert.equal(job.status, 202, job.text);
    assert.equal((await finished(key, job.json.id)).status, 'succeeded');
    const scientist = bCallers[0]!;
    const own = await call(scientist, 'GET', `/v1/projects/${B}/models/${b.model}`);
    assert.equal(own.status, 200, own.text);
  });
});
