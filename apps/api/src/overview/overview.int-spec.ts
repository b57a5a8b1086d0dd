import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { uniqueId } from '@modelyard/testing';
import { PrismaService, RollupsRepository } from '@modelyard/server';
import { startTestApp, type TestApp } from '../test-support.js';

/**
 * GET /v1/overview: the models the caller may see, a page at a time, with serving, traffic, SLO, drift and
 * alerts from one query. Every test works on models of its own prefix (the `search` narrows to them), because
 * other files share the database.
 */
describe('GET /v1/overview', () => {
  let t: TestApp;
  let db: PrismaService;
  before(async () => {
    t = await startTestApp();
    db = t.app.get(PrismaService);
  });
  after(() => t.close());

  const get = (query: Record<string, string | number>, token?: string, cookie?: string) =>
    t.request(
      'GET',
      `/v1/overview?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`,
      {
        token: cookie ? undefined : (token ?? t.adminKey),
        cookie,
      },
    );

  async function createModels(prefix: string, names: string[]) {
    for (const n of names) {
      const r = await t.request('POST', '/v1/models', { token: t.adminKey, body: { name: `${prefix}-${n}` } });
      assert.equal(r.status, 201, r.body);
    }
  }

  /** Every page of a query, following nextCursor; the names in the order served. */
  async function allPages(query: Record<string, string | number>) {
    const names: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const r = await get({ ...query, ...(cursor ? { cursor } : {}) });
      assert.equal(r.status, 200, r.body);
      names.push(...r.json.items.map((m: { name: string }) => m.name));
      sizes.push(r.json.items.length);
      cursor = r.json.nextCursor;
      if (!cursor) return { names, sizes };
    }
    throw new Error('more than 20 pages');
  }

  it('pages through every model once, by name or by last update, and each sort in both directions', async () => {
    const prefix = uniqueId('ovp');
    await createModels(prefix, ['d', 'b', 'e', 'a', 'c']);
    const expected = ['a', 'b', 'c', 'd', 'e'].map((n) => `${prefix}-${n}`);

    const byName = await allPages({ search: prefix, sort: 'name', limit: 2 });
    assert.deepEqual(byName.names, expected);
    assert.deepEqual(byName.sizes, [2, 2, 1]);
    const byNameDesc = await allPages({ search: prefix, sort: 'name', order: 'desc', limit: 2 });
    assert.deepEqual(byNameDesc.names, [...expected].reverse());

    // Created in the order d, b, e, a, c: newest first by default.
    const byUpdate = await allPages({ search: prefix, limit: 2 });
    assert.deepEqual(
      byUpdate.names,
      ['c', 'a', 'e', 'b', 'd'].map((n) => `${prefix}-${n}`),
    );
    const oldestFirst = await allPages({ search: prefix, sort: 'updated', order: 'asc', limit: 3 });
    assert.deepEqual(
      oldestFirst.names,
      ['d', 'b', 'e', 'a', 'c'].map((n) => `${prefix}-${n}`),
    );
    assert.deepEqual(oldestFirst.sizes, [3, 2]);
  });

  it('sorts by the requests callers sent over the range, silent copies not counted', async () => {
    const prefix = uniqueId('ovr');
    await createModels(prefix, ['quiet', 'busy', 'middle', 'shadowed']);
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000);
    const row = (model: string, role: string, count: number, errors = 0) => ({
      model: `${prefix}-${model}`,
      version: 1,
      role,
      minute,
      count,
      errors,
      sumMs: count,
      buckets: [0, count, ...new Array(14).fill(0)],
    });
    await t.app
      .get(RollupsRepository)
      .add([
        row('busy', 'production', 50, 5),
        row('busy', 'pilot', 10),
        row('middle', 'production', 20),
        row('shadowed', 'production', 1),
        row('shadowed', 'silent', 500),
      ]);

    const pages = await allPages({ search: prefix, sort: 'requests', limit: 3 });
    assert.equal(pages.names.length, 4);
    assert.deepEqual(
      pages.names.slice(0, 3),
      ['busy', 'middle', 'shadowed'].map((n) => `${prefix}-${n}`),
    );
    assert.equal(pages.names[3], `${prefix}-quiet`);
    const leastFirst = await allPages({ search: prefix, sort: 'requests', order: 'asc', limit: 3 });
    assert.deepEqual(leastFirst.names, [...pages.names].reverse());

    const r = await get({ search: prefix, sort: 'requests', limit: 1 });
    const busy = r.json.items[0];
    assert.equal(busy.traffic.count, 60);
    assert.equal(busy.traffic.errors, 5);
    assert.equal(busy.traffic.errorRate, 5 / 60);
    assert.ok(
      busy.traffic.p99Ms > 0.5 && busy.traffic.p99Ms <= 1,
      `p99 from the merged histogram: ${busy.traffic.p99Ms}`,
    );
  });

  it('merges the minutes of long ranges into steps: never more than `points`, nothing lost', async () => {
    const prefix = uniqueId('ovs');
    await createModels(prefix, ['m']);
    const to = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const deltas = [];
    // One minute with traffic every 7 hours over 6 days: 21 minutes, 3 requests each.
    for (let i = 1; i <= 21; i++) {
      deltas.push({
        model: `${prefix}-m`,
        version: 1,
        role: 'production',
        minute: new Date(to.getTime() - i * 7 * 3_600_000),
        count: 3,
        errors: i % 2,
        sumMs: 3,
        buckets: [3, ...new Array(15).fill(0)],
      });
    }
    await t.app.get(RollupsRepository).add(deltas);
    const from = new Date(to.getTime() - 7 * 86_400_000);
    for (const points of [1, 7, 50, 500]) {
      const r = await get({ search: prefix, from: from.toISOString(), to: to.toISOString(), points });
      assert.equal(r.status, 200, r.body);
      const page = r.json;
      const m = page.items[0];
      assert.ok(page.steps <= points, `points=${points}: ${page.steps} steps`);
      assert.equal(m.traffic.requests.length, page.steps);
      assert.equal(m.traffic.errorsPerStep.length, page.steps);
      assert.equal(Date.parse(page.start) % page.stepMs, 0, 'steps are aligned to their size');
      assert.ok(Date.parse(page.start) <= from.getTime());
      assert.ok(Date.parse(page.start) + page.steps * page.stepMs > to.getTime(), 'the steps cover the range');
      assert.equal(
        m.traffic.requests.reduce((a: number, b: number) => a + b, 0),
        63,
        `points=${points}: every request in some step`,
      );
      assert.equal(m.traffic.count, 63);
      assert.equal(
        m.traffic.errorsPerStep.reduce((a: number, b: number) => a + b, 0),
        11,
      );
    }
    const hourAgo = new Date(to.getTime() - 3_600_000).toISOString();
    const hourly = await get({ search: prefix, from: hourAgo, to: to.toISOString(), points: 61 });
    assert.deepEqual([hourly.json.stepMs, hourly.json.steps], [60_000, 61], 'an hour in 61 points: per minute');
    const halved = await get({ search: prefix, from: hourAgo, to: to.toISOString(), points: 60 });
    assert.deepEqual([halved.json.stepMs, halved.json.steps], [120_000, 31], 'one point fewer: 2-minute steps');
    const week = await get({ search: prefix, from: from.toISOString(), to: to.toISOString(), points: 48 });
    assert.equal(week.json.stepMs, 6 * 3_600_000, 'a week in at most 48 points: 6 h steps');
  });

  it('shows what serves (deployment), the SLO, firing alerts and the newest drift window in one answer', async () => {
    const prefix = uniqueId('ovf');
    await createModels(prefix, ['full']);
    const name = `${prefix}-full`;
    const c = db.client;
    const model = await c.registeredModel.findUniqueOrThrow({ where: { name } });
    const version = (number: number, stage: 'None' | 'Staging' | 'Production') =>
      c.modelVersion.create({
        data: {
          modelId: model.id,
          number,
          status: 'ready',
          stage,
          storageBackend: 'local',
          storageUri: `file:///nowhere/${name}/${number}.onnx`,
          ownedArtifact: false,
          createdByKind: 'system',
        },
      });
    const v1 = await version(1, 'Production');
    await version(2, 'Staging');
    await version(3, 'None');
    await c.modelAlias.create({ data: { modelId: model.id, name: 'champion', versionId: v1.id } });
    const dep = await c.deployment.create({ data: { modelId: model.id, currentRevision: 2 } });
    for (const [number, config] of [
      [1, { production: { mode: 'stage' }, pilots: [], silent: [] }],
      [
        2,
        {
          production: { mode: 'pinned', version: 1 },
          pilots: [{ version: 2, groups: [], percentage: 10 }],
          silent: [{ version: 3, sampleRate: 1 }],
        },
      ],
    ] as const)
      await c.deploymentRevision.create({
        data: { deploymentId: dep.id, number, config, authorKind: 'system' },
      });
    await c.alertRuleSet.create({ data: { modelId: model.id, latencySloMs: 120 } });
    const alert = (state: string, silent: boolean, message: string) =>
      c.alert.create({
        data: {
          modelId: model.id,
          modelName: name,
          version: silent ? 3 : 1,
          ruleId: randomUUID(),
          kind: 'latency_p99',
          state,
          openKey: state === 'firing' ? randomUUID() : null,
          silent,
          message,
        },
      });
    await alert('firing', false, 'p99 over 120 ms');
    await alert('firing', true, 'silent v3 is slow');
    await alert('resolved', false, 'old news');
    const start = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    await c.driftWindowRow.create({
      data: {
        versionId: v1.id,
        model: name,
        number: 1,
        start,
        minutes: 1440,
        rows: 40,
        silentRows: 0,
        window: {},
        status: 'drift',
      },
    });

    const r = await get({ search: name });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.items.length, 1);
    const m = r.json.items[0];
    assert.deepEqual(
      {
        latestVersion: m.latestVersion,
        productionVersion: m.productionVersion,
        stagingVersions: m.stagingVersions,
        aliases: m.aliases,
        serving: m.serving,
        latencySloMs: m.latencySloMs,
        alerts: m.alerts,
        drift: m.drift,
      },
      {
        latestVersion: 3,
        productionVersion: 1,
        stagingVersions: [2],
        aliases: { champion: 1 },
        serving: { production: 1, pinned: true, pilots: [2], silent: [3] },
        latencySloMs: 120,
        alerts: { firing: 1, silent: 1, messages: ['p99 over 120 ms'] },
        drift: { version: 1, start: start.toISOString(), rows: 40, silent: false, status: 'drift' },
      },
    );
    // Without a deployment, rules or windows: the Production stage, the default SLO, no drift, no alerts.
    const bare = await get({ search: `${prefix}-nothing` });
    assert.deepEqual(bare.json.items, []);
    await createModels(prefix, ['plain']);
    const plain = (await get({ search: `${prefix}-plain` })).json.items[0];
    assert.deepEqual(
      [plain.serving, plain.latencySloMs, plain.drift, plain.alerts, plain.traffic.count, plain.traffic.p99Ms],
      [
        { production: null, pinned: false, pilots: [], silent: [] },
        300,
        null,
        { firing: 0, silent: 0, messages: [] },
        0,
        null,
      ],
    );
  });

  it('pages an allow-listed key through its models only (GET /v1/models too); 403 without the scope', async () => {
    const prefix = uniqueId('ova');
    await createModels(prefix, ['a', 'b', 'c', 'd', 'e']);
    // The allowed models are the oldest: a filter applied after the page was cut would return nothing here.
    const limited = await t.keyWithScopes(['models:read'], 'viewer', {
      modelAllowList: [`${prefix}-a`, `${prefix}-b`],
    });
    const first = await get({ search: prefix, limit: 1 }, limited.secret);
    assert.equal(first.status, 200, first.body);
    assert.deepEqual(
      first.json.items.map((m: { name: string }) => m.name),
      [`${prefix}-b`],
    );
    const second = await get({ search: prefix, limit: 1, cursor: first.json.nextCursor }, limited.secret);
    assert.deepEqual(
      second.json.items.map((m: { name: string }) => m.name),
      [`${prefix}-a`],
    );
    assert.equal(second.json.nextCursor, null);
    // Without a search, still only the two (whatever else the database holds).
    const everything = await get({ limit: 200 }, limited.secret);
    assert.deepEqual(everything.json.items.map((m: { name: string }) => m.name).sort(), [`${prefix}-a`, `${prefix}-b`]);

    // The registry's own list pages the same way.
    const listed = await t.request('GET', `/v1/models?search=${prefix}&limit=1`, { token: limited.secret });
    assert.deepEqual(
      listed.json.items.map((m: { name: string }) => m.name),
      [`${prefix}-b`],
      'GET /v1/models: the first page holds the newest allowed model',
    );
    const listed2 = await t.request('GET', `/v1/models?search=${prefix}&limit=1&cursor=${listed.json.nextCursor}`, {
      token: limited.secret,
    });
    assert.deepEqual(
      listed2.json.items.map((m: { name: string }) => m.name),
      [`${prefix}-a`],
    );

    const predictOnly = await t.keyWithScopes(['predict'], 'viewer');
    const refused = await get({ search: prefix }, predictOnly.secret);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'FORBIDDEN');
    assert.equal((await t.request('GET', '/v1/overview')).status, 401);
    const viewer = await t.userWithRole('viewer');
    const seen = await get({ search: prefix }, undefined, viewer.cookie);
    assert.equal(seen.status, 200);
    assert.equal(seen.json.items.length, 5, 'a viewer session sees every model');
  });

  it('answers 400 with a JSON error for bad query parameters', async () => {
    const cursorOf = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Date.now();
    const cases: Record<string, Record<string, string | number>> = {
      'limit 0': { limit: 0 },
      'limit over 200': { limit: 201 },
      'limit not a number': { limit: 'ten' },
      'unknown sort': { sort: 'size' },
      'unknown order': { order: 'up' },
      'points 0': { points: 0 },
      'points over 500': { points: 501 },
      'from not a time': { from: 'yesterday' },
      'from after to': { from: new Date(now).toISOString(), to: new Date(now - 60_000).toISOString() },
      'range over 31 days': { from: new Date(now - 32 * 86_400_000).toISOString() },
      'search too long': { search: 'x'.repeat(101) },
      'cursor not base64 JSON': { cursor: 'not-a-cursor' },
      'cursor of another sort': {
        sort: 'name',
        cursor: cursorOf({ s: 'updated', o: 'desc', v: 'x', id: randomUUID() }),
      },
      'cursor with a bad id': {
        cursor: cursorOf({ s: 'updated', o: 'desc', v: new Date().toISOString(), id: "1' OR 1=1" }),
      },
      'cursor with a bad time': { cursor: cursorOf({ s: 'updated', o: 'desc', v: 'soon', id: randomUUID() }) },
      'cursor with a bad count': {
        sort: 'requests',
        cursor: cursorOf({ s: 'requests', o: 'desc', v: 'many', id: randomUUID() }),
      },
    };
    for (const [what, query] of Object.entries(cases)) {
      const r = await get(query);
      assert.equal(r.status, 400, `${what}: ${r.body}`);
      assert.match(String(r.headers['content-type']), /application\/json/, what);
      assert.equal(r.json.error.code, 'VALIDATION_FAILED', what);
    }
  });
});
