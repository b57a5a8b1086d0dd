import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

const env = e2eEnv();
const token = env.adminApiKey;
const metricsUrl = process.env.E2E_WORKER_METRICS_URL!;
const iris = samples('iris_logreg');
const rows = records(iris);

type Fields = Record<string, string>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readAll(redis: Redis, key: string): Promise<[string, Fields][]> {
  const page = (await redis.xrange(key, '-', '+')) as [string, string[]][];
  return page.map(([id, flat]) => {
    const f: Fields = {};
    for (let i = 0; i < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
    return [id, f];
  });
}

/** The features of sample row `i` as stream fields, plus any extra fields. */
function fields(i: number, extra: Fields = {}): string[] {
  const r = rows[i % rows.length]!;
  const out = Object.entries(extra).flat();
  for (const f of iris.feature_names) out.push(f, String(r[f]));
  return out;
}

function cli(args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.resolve('apps/cli/bin/modelyard.js'), ...args], {
      env: { PATH: process.env.PATH, HOME: '/nonexistent', MODELYARD_URL: env.apiUrl, MODELYARD_API_KEY: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('stream deployments', () => {
  const redis = new Redis(process.env.REDIS_URL!);
  const created: { model: string; name: string }[] = [];
  let model = '';
  const api = (method: string, p: string, body?: unknown) => http(env.apiUrl, method, p, { token, body });
  const create = async (m: string, body: Record<string, unknown>) => {
    const r = await api('POST', `/v1/models/${m}/streams`, body);
    assert.equal(r.status, 201, r.text);
    created.push({ model: m, name: body.name as string });
    return r.json;
  };
  /** Polls the deployment until its stats satisfy `done`. */
  const until = async (m: string, name: string, done: (s: any) => boolean, what: string) => {
    let s: any = null;
    for (let i = 0; i < 300; i++) {
      s = (await api('GET', `/v1/models/${m}/streams/${name}`)).json;
      if (s?.stats && done(s.stats)) return s;
      await sleep(100);
    }
    assert.fail(`${what}: ${JSON.stringify(s?.stats)}`);
  };

  before(async () => {
    model = (await registerFixture(env.apiUrl, token, 'iris_logreg')).model;
  });
  after(async () => {
    for (const c of created) await api('DELETE', `/v1/models/${c.model}/streams/${c.name}`);
    redis.disconnect();
  });

  it('scores records into the sink with version and role, and dead-letters the ones it cannot score', async () => {
    const src = uniqueId('src');
    const s = await create(model, {
      name: 'basic',
      source: src,
      sink: `${src}.out`,
      startAt: 'latest',
      options: { keyField: 'user', copyFields: ['order'] },
    });
    assert.equal(s.deadLetter, `${src}.out.dead`);
    assert.deepEqual(s.stats, { lag: 0, pending: 0, sinkLength: 0, deadLetterLength: 0, lastDeliveredId: '0-0' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await redis.xadd(s.keys.source, '*', ...fields(i, { user: `u${i}`, order: `o${i}` })))!);
    const badId = (await redis.xadd(s.keys.source, '*', 'user', 'u9', iris.feature_names[0]!, 'x'))!;
    await until(
      model,
      'basic',
      (st) => st.sinkLength === 3 && st.deadLetterLength === 1 && st.pending === 0,
      'drained',
    );

    const out = await readAll(redis, s.keys.sink);
    assert.deepEqual(
      out.map(([, f]) => [f.source_id, f.key, f.order, f.version, f.role]),
      ids.map((id, i) => [id, `u${i}`, `o${i}`, '1', 'production']),
    );
    out.forEach(([, f], i) => {
      assert.deepEqual(JSON.parse(f.prediction!), iris.expected.label[i]);
      const probs = JSON.parse(f.probabilities!) as Record<string, number>;
      assert.deepEqual(Object.keys(probs), iris.classes.map(String));
      Object.values(probs).forEach((p, c) => assert.ok(Math.abs(p - iris.expected.probabilities[i]![c]!) < 1e-4));
    });
    const [[, dead]] = await readAll(redis, s.keys.deadLetter);
    assert.equal(dead!.source_id, badId);
    assert.match(dead!.reason!, /feature .* is missing|must be/);
    assert.deepEqual(JSON.parse(dead!.fields!), { user: 'u9', [iris.feature_names[0]!]: 'x' });

    // The worker's metrics carry the stream: lag 0 and the one dead letter.
    const text = (await http(metricsUrl, 'GET', '/metrics', { token })).text;
    assert.match(text, new RegExp(`modelyard_stream_lag\\{stream="${model}/basic"\\} 0\\n`));
    assert.match(text, new RegExp(`modelyard_stream_dead_letters\\{stream="${model}/basic"\\} 1\\n`));
    assert.match(text, new RegExp(`modelyard_stream_records_total\\{stream="${model}/basic",outcome="scored"\\} 3`));
  });

  it('pauses (records wait as lag), resumes (they are scored), rewinds by id and by time, and is audited', async () => {
    const src = uniqueId('src');
    const s = await create(model, { name: 'ops', source: src, sink: `${src}.out`, startAt: 'earliest' });
    const first = (await redis.xadd(s.keys.source, '*', ...fields(0)))!;
    await until(model, 'ops', (st) => st.sinkLength === 1 && st.pending === 0, 'first record scored');

    const paused = await api('POST', `/v1/models/${model}/streams/ops/pause`);
    assert.equal(paused.json.paused, true);
    await sleep(1500); // the worker lets go within a read's wait
    for (let i = 1; i < 4; i++) await redis.xadd(s.keys.source, '*', ...fields(i));
    await sleep(1500);
    const held = (await api('GET', `/v1/models/${model}/streams/ops`)).json.stats;
    assert.deepEqual([held.lag, held.sinkLength], [3, 1], 'paused: the new records wait');

    assert.equal((await api('POST', `/v1/models/${model}/streams/ops/resume`)).json.paused, false);
    await until(model, 'ops', (st) => st.lag === 0 && st.sinkLength === 4 && st.pending === 0, 'resumed and drained');

    // From an id: the records after it come again (consumers de-duplicate by source_id).
    const r1 = await api('POST', `/v1/models/${model}/streams/ops/rewind`, { fromId: first });
    assert.equal(r1.status, 200, r1.text);
    await until(model, 'ops', (st) => st.sinkLength === 7 && st.pending === 0, 'records after the id scored again');
    // From a time before everything: all four again.
    const r2 = await api('POST', `/v1/models/${model}/streams/ops/rewind`, {
      fromTime: new Date(Number(first.split('-')[0])).toISOString(),
    });
    assert.equal(r2.status, 200, r2.text);
    await until(model, 'ops', (st) => st.sinkLength === 11 && st.pending === 0, 'all records scored again');
    const ids = (await readAll(redis, s.keys.sink)).map(([, f]) => f.source_id);
    assert.equal(new Set(ids).size, 4);

    const bad = await api('POST', `/v1/models/${model}/streams/ops/rewind`, { fromId: 'yesterday' });
    assert.equal(bad.status, 400);
    const audit = (await api('GET', `/v1/audit?objectId=${s.id}`)).json.items.map((e: any) => e.action);
    for (const a of ['stream.created', 'stream.paused', 'stream.resumed', 'stream.rewound'])
      assert.ok(audit.includes(a), `${a} in ${audit}`);
  });

  it('refuses bad requests with 4xx: names, a duplicate, the same stream twice, unknown models and streams', async () => {
    const src = uniqueId('src');
    const ok = { name: 'dup', source: src, sink: `${src}.out` };
    await create(model, ok);
    assert.equal((await api('POST', `/v1/models/${model}/streams`, ok)).status, 409);
    assert.equal((await api('POST', `/v1/models/${model}/streams`, { ...ok, name: 'Bad Name' })).status, 400);
    assert.equal((await api('POST', `/v1/models/${model}/streams`, { ...ok, name: 'x', source: '../x' })).status, 400);
    assert.equal((await api('POST', `/v1/models/${model}/streams`, { ...ok, name: 'x', sink: src })).status, 400);
    const copy = { ...ok, name: 'x', options: { copyFields: ['prediction'] } };
    assert.equal((await api('POST', `/v1/models/${model}/streams`, copy)).status, 400);
    assert.equal((await api('POST', `/v1/models/${uniqueId('nope')}/streams`, { ...ok, name: 'x' })).status, 404);
    assert.equal((await api('GET', `/v1/models/${model}/streams/nope`)).status, 404);
    assert.equal((await api('PATCH', `/v1/models/${model}/streams/dup`, {})).status, 400);
    const opts = await api('PATCH', `/v1/models/${model}/streams/dup`, { options: { maxInFlight: 10 } });
    assert.equal(opts.json.options.maxInFlight, 10);
    assert.equal(opts.json.options.batchSize, 200, 'other options kept');
  });

  it('the CLI creates, lists, shows, pauses, resumes, rewinds and deletes a stream deployment', async () => {
    const src = uniqueId('src');
    const c = await cli([
      'streams',
      'create',
      'cli',
      '--model',
      model,
      '--source',
      src,
      '--sink',
      `${src}.out`,
      '--key-field',
      'user',
      '--ordered',
      '--start',
      'earliest',
      '--max-in-flight',
      '500',
    ]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`producers XADD to .*:streams:${src}`));
    created.push({ model, name: 'cli' });
    const list = await cli(['streams', 'list', '--model', model, '--json']);
    const mine = (JSON.parse(list.stdout) as any[]).find((x) => x.name === 'cli');
    assert.deepEqual([mine.options.ordered, mine.options.maxInFlight, mine.options.keyField], [true, 500, 'user']);
    assert.match(
      (await cli(['streams', 'list'])).stdout,
      new RegExp(`${model}/cli +running +${src} -> ${src}.out +lag 0`),
    );
    assert.match((await cli(['streams', 'show', 'cli', '--model', model])).stdout, /key field: +user \(ordered\)/);
    assert.match((await cli(['streams', 'pause', 'cli', '--model', model])).stdout, /is paused/);
    assert.match((await cli(['streams', 'resume', 'cli', '--model', model])).stdout, /is running/);
    const rw = await cli(['streams', 'rewind', 'cli', '--model', model, '--from-time', '2026-01-01T00:00:00Z']);
    assert.equal(rw.code, 0, rw.stderr);
    assert.equal((await cli(['streams', 'rewind', 'cli', '--model', model])).code, 2);
    assert.equal((await cli(['streams', 'delete', 'cli', '--model', model])).code, 0);
    const gone = await cli(['streams', 'show', 'cli', '--model', model]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /NOT_FOUND/);
  });

  it('routes records by key to a percentage pilot, each key always to the same version', async () => {
    const m = await registerFixture(env.apiUrl, token, 'iris_logreg');
    const v2 = await registerFixture(env.apiUrl, token, 'iris_rf', { model: m.model, promote: false });
    const put = await api('PUT', `/v1/models/${m.model}/deployment`, {
      config: { production: { mode: 'stage' }, pilots: [{ version: v2.version, percentage: 50 }], silent: [] },
      comment: 'stream pilot',
    });
    assert.equal(put.status, 200, put.text);
    const src = uniqueId('src');
    const s = await create(m.model, { name: 'pilot', source: src, sink: `${src}.out`, options: { keyField: 'user' } });
    for (let i = 0; i < 200; i++) await redis.xadd(s.keys.source, '*', ...fields(i, { user: `u${i % 20}` }));
    await until(m.model, 'pilot', (st) => st.sinkLength === 200 && st.pending === 0, 'scored');
    const byKey = new Map<string, Set<string>>();
    for (const [, f] of await readAll(redis, s.keys.sink)) {
      if (!byKey.has(f.key!)) byKey.set(f.key!, new Set());
      byKey.get(f.key!)!.add(`${f.version}/${f.role}`);
    }
    const routes = [...byKey.values()].map((v) => [...v]);
    assert.ok(
      routes.every((v) => v.length === 1),
      `a key kept its version: ${JSON.stringify(routes)}`,
    );
    const seen = new Set(routes.flat());
    assert.deepEqual([...seen].sort(), ['1/production', `${v2.version}/pilot`]);
  });

  it("lists stream deployments with their lag and state on the dashboard's Streams tab", async () => {
    const src = uniqueId('src');
    const s = await create(model, { name: 'web', source: src, sink: `${src}.out`, startAt: 'latest' });
    await api('POST', `/v1/models/${model}/streams/web/pause`);
    await sleep(1500);
    for (let i = 0; i < 3; i++) await redis.xadd(s.keys.source, '*', ...fields(i));
    const login = await http(env.apiUrl, 'POST', '/v1/auth/login', {
      body: { email: env.adminEmail, password: env.adminPassword },
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${env.webUrl}/jobs/streams`, { headers: { cookie } });
    assert.equal(page.status, 200);
    const html = await page.text();
    const row = html.slice(
      html.indexOf(`id="stream-${s.id}"`),
      html.indexOf('</tr>', html.indexOf(`id="stream-${s.id}"`)),
    );
    assert.ok(row.length > 0, 'the stream has a row');
    assert.match(row, /web/);
    assert.match(row, new RegExp(`${src} → ${src}.out`));
    assert.match(row, />3</, 'lag 3');
    assert.match(row, />paused</);
  });

  it('switches versions between records when a version is promoted mid-stream, losing none', async () => {
    const m = await registerFixture(env.apiUrl, token, 'iris_logreg');
    const v2 = await registerFixture(env.apiUrl, token, 'iris_rf', { model: m.model, promote: false });
    const src = uniqueId('src');
    const s = await create(m.model, { name: 'promo', source: src, sink: `${src}.out`, options: { ordered: true } });
    const sent: string[] = [];
    let stop = false;
    // About 400 records a second until told to stop.
    const producer = (async () => {
      for (let i = 0; !stop && i < 20_000; i++) {
        sent.push((await redis.xadd(s.keys.source, '*', ...fields(i, { n: String(i) })))!);
        if (i % 20 === 19) await sleep(50);
      }
    })();
    await until(m.model, 'promo', (st) => st.sinkLength > 200, 'v1 scoring');
    const promoted = await api('POST', `/v1/models/${m.model}/versions/${v2.version}/stage`, { stage: 'Production' });
    assert.equal(promoted.status, 200, promoted.text);
    const at = sent.length;
    for (let i = 0; i < 100; i++) {
      const last = (await redis.xrevrange(s.keys.sink, '+', '-', 'COUNT', 1)) as [string, string[]][];
      if (last[0]?.[1].includes(String(v2.version)) && sent.length > at + 200) break;
      await sleep(100);
    }
    stop = true;
    await producer;
    await until(m.model, 'promo', (st) => st.lag === 0 && st.pending === 0, 'drained');
    const out = await readAll(redis, s.keys.sink);
    const firstById = new Map<string, string>();
    for (const [, f] of out) if (!firstById.has(f.source_id!)) firstById.set(f.source_id!, f.version!);
    assert.deepEqual(
      sent.filter((id) => !firstById.has(id)),
      [],
      'every record has a result',
    );
    const versions = sent.map((id) => firstById.get(id));
    const switchAt = versions.indexOf(String(v2.version));
    assert.ok(switchAt > 0, `v2 took over: ${[...new Set(versions)]}`);
    assert.ok(
      versions.slice(0, switchAt).every((v) => v === '1'),
      'v1 before the switch',
    );
    assert.ok(
      versions.slice(switchAt).every((v) => v === String(v2.version)),
      'v2 from the switch on, never v1 again',
    );
  });
});
