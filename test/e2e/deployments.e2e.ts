import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

const env = e2eEnv();
const admin = (method: string, p: string, body?: unknown) =>
  http(env.apiUrl, method, p, { token: env.adminApiKey, body });

async function serviceAccountKey(role: string, scopes: string[], groupId?: string) {
  const sa = await admin('POST', '/v1/service-accounts', { name: uniqueId('dep-sa'), role });
  if (groupId)
    assert.equal(
      (await admin('POST', `/v1/groups/${groupId}/members`, { kind: 'serviceAccount', id: sa.json.id })).status,
      201,
    );
  const k = await admin('POST', '/v1/api-keys', { name: 'k', scopes, serviceAccountId: sa.json.id });
  return k.json.secret as string;
}

describe('deployments: pilots by group and sticky percentage, revisions, rollback', () => {
  let model: string;
  let v1: number;
  let v2: number;
  let groupId: string;
  const row = { payload: records(samples('iris_logreg')).slice(0, 1) };
  const predict = (key: string, headers: Record<string, string> = {}) =>
    http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, { token: key, body: row, headers });

  before(async () => {
    const a = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    model = a.model;
    v1 = a.version;
    v2 = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model, promote: false })).version;
    groupId = (await admin('POST', '/v1/groups', { name: uniqueId('pilot-group') })).json.id;
  });

  it('serves the pilot to callers in the pilot group and production to everyone else', async () => {
    const inGroup = await serviceAccountKey('viewer', ['predict'], groupId);
    const outside = await serviceAccountKey('viewer', ['predict']);
    const put = await admin('PUT', `/v1/models/${model}/deployment`, {
      config: { pilots: [{ version: v2, groups: [groupId] }] },
      comment: 'pilot for the group',
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.revision, 1);
    const p = await predict(inGroup);
    assert.equal(p.status, 200, p.text);
    assert.equal(p.headers.get('x-model-version'), String(v2));
    assert.equal(p.headers.get('x-deployment-role'), 'pilot');
    const q = await predict(outside);
    assert.equal(q.headers.get('x-model-version'), String(v1));
    assert.equal(q.headers.get('x-deployment-role'), 'production');
  });

  it('gives 10% +- 3% of 2,000 distinct routing keys the pilot, each key always the same version', async () => {
    const key = await serviceAccountKey('viewer', ['predict']);
    const put = await admin('PUT', `/v1/models/${model}/deployment`, {
      config: { pilots: [{ version: v2, percentage: 10 }] },
      comment: '10% canary',
    });
    assert.equal(put.status, 200, put.text);
    const seen = new Map<string, string>();
    let pilots = 0;
    for (let i = 0; i < 2000; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) => predict(key, { 'x-routing-key': `user-${i + j}` })),
      );
      batch.forEach((r, j) => {
        assert.equal(r.status, 200, r.text);
        const v = r.headers.get('x-model-version')!;
        seen.set(`user-${i + j}`, v);
        if (v === String(v2)) pilots++;
      });
    }
    assert.ok(pilots >= 140 && pilots <= 260, `${pilots} of 2000 got the pilot`);
    for (let i = 0; i < 100; i += 7) {
      assert.equal(
        (await predict(key, { 'x-routing-key': `user-${i}` })).headers.get('x-model-version'),
        seen.get(`user-${i}`),
      );
    }
  });

  it('keeps every revision and rolls back to the previous one', async () => {
    const revs = await admin('GET', `/v1/models/${model}/deployment/revisions`);
    assert.deepEqual(
      revs.json.items.map((r: { revision: number; comment: string }) => [r.revision, r.comment]),
      [
        [2, '10% canary'],
        [1, 'pilot for the group'],
      ],
    );
    const back = await admin('POST', `/v1/models/${model}/deployment/rollback`, {});
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.revision, 3);
    assert.deepEqual(
      back.json.config.pilots.map((p: { groups: string[] }) => p.groups),
      [[groupId]],
    );
    const cur = await admin('GET', `/v1/models/${model}/deployment`);
    assert.equal(cur.json.current.revision, 3);
    // The pilot version is part of the deployment: it cannot be deleted from under it.
    assert.equal((await admin('DELETE', `/v1/models/${model}/versions/${v2}`)).status, 409);
  });

  it('lets scientists pilot only to their own groups, and only approvers touch production or percentages', async () => {
    const otherGroup = (await admin('POST', '/v1/groups', { name: uniqueId('other-group') })).json.id;
    const scientist = await serviceAccountKey('scientist', ['models:read', 'models:write'], groupId);
    const put = (key: string, config: unknown) =>
      http(env.apiUrl, 'PUT', `/v1/models/${model}/deployment`, { token: key, body: { config } });
    const current = [{ version: v2, groups: [groupId] }];
    assert.equal((await put(scientist, { pilots: [...current, { version: v2, groups: [otherGroup] }] })).status, 403);
    assert.equal((await put(scientist, { pilots: [...current, { version: v2, percentage: 5 }] })).status, 403);
    assert.equal((await put(scientist, { production: { mode: 'pinned', version: v2 }, pilots: current })).status, 403);
    const own = await put(scientist, { pilots: [], silent: [{ version: v2, sampleRate: 0.5 }] });
    assert.equal(own.status, 200, own.text);
    const pin = await admin('PUT', `/v1/models/${model}/deployment`, {
      config: { production: { mode: 'pinned', version: v2 } },
    });
    assert.equal(pin.status, 200, pin.text);
    const outside = await serviceAccountKey('viewer', ['predict']);
    assert.equal((await predict(outside)).headers.get('x-model-version'), String(v2));
    assert.equal(
      (
        await admin('PUT', `/v1/models/${model}/deployment`, {
          config: { pilots: [{ version: 999, groups: [groupId] }] },
        })
      ).status,
      400,
    );
  });

  it('mirrors production traffic to silent versions without ever answering from them, and compares them', async () => {
    const failing = (await registerFixture(env.apiUrl, env.adminApiKey, 'digits_mlp', { model, promote: false }))
      .version;
    const put = await admin('PUT', `/v1/models/${model}/deployment`, {
      config: {
        production: { mode: 'pinned', version: v1 },
        silent: [
          { version: v2, sampleRate: 1 },
          { version: failing, sampleRate: 1 },
        ],
      },
      comment: 'shadow rf and a broken one',
    });
    assert.equal(put.status, 200, put.text);
    const key = await serviceAccountKey('viewer', ['predict']);
    // v2 was a pilot in the tests above, so it already has comparisons: wait for the silent ones to add to them.
    const comparedBefore = (await admin('GET', `/v1/models/${model}/deployment/comparison?version=${v2}`)).json
      .compared as number;
    for (let i = 0; i < 60; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => predict(key)));
      for (const r of batch) {
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers.get('x-model-version'), String(v1), 'never answered by a silent version');
        assert.equal(r.json.version, v1);
      }
    }
    let cmp: any;
    let broken: any;
    for (let i = 0; i < 40; i++) {
      cmp = (await admin('GET', `/v1/models/${model}/deployment/comparison?version=${v2}`)).json;
      broken = (await admin('GET', `/v1/models/${model}/deployment/comparison?version=${failing}`)).json;
      if (cmp.compared > comparedBefore && broken.errors + broken.dropped > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(cmp.compared > comparedBefore, JSON.stringify(cmp));
    assert.ok(cmp.labelAgreement >= 0.5 && cmp.labelAgreement <= 1, `agreement ${cmp.labelAgreement}`);
    assert.ok(cmp.meanProbAbsDiff >= 0 && cmp.meanProbAbsDiff < 0.5);
    assert.ok(cmp.latency.production.count > 0 && cmp.latency.candidate.count > 0, JSON.stringify(cmp.latency));
    assert.ok(broken.errors > 0 || broken.dropped > 0, JSON.stringify(broken));
    assert.equal(broken.compared, 0);
  });

  it("compares a pilot with production on the pilot's own requests", async () => {
    const m = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const p = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model: m.model, promote: false });
    assert.equal(
      (
        await admin('PUT', `/v1/models/${m.model}/deployment`, {
          config: { pilots: [{ version: p.version, percentage: 100 }] },
        })
      ).status,
      200,
    );
    const key = await serviceAccountKey('viewer', ['predict']);
    const rows = records(samples('iris_logreg')).slice(0, 10);
    for (const r of rows) {
      const res = await http(env.apiUrl, 'POST', `/v1/models/${m.model}/predict`, {
        token: key,
        body: { payload: [r] },
      });
      assert.equal(res.headers.get('x-deployment-role'), 'pilot');
    }
    let cmp: any;
    for (let i = 0; i < 40; i++) {
      cmp = (await admin('GET', `/v1/models/${m.model}/deployment/comparison?version=${p.version}`)).json;
      if (cmp.compared + cmp.dropped >= 10) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    // Every one of the pilot's requests is compared with production's answer on the same rows, or dropped when the
    // api's side thread had spent its budget (comparisons never slow the answer; a loaded CI box drops one now and
    // then).
    assert.equal(cmp.compared + cmp.dropped, 10, JSON.stringify(cmp));
    assert.ok(cmp.compared >= 5, JSON.stringify(cmp));
    assert.equal(cmp.rows, cmp.compared);
    // The forest and the logistic regression agree on most of these rows, not necessarily all.
    assert.ok(cmp.labelAgreement >= 0.5 && cmp.labelAgreement <= 1, `agreement ${cmp.labelAgreement}`);
    assert.ok(cmp.meanProbAbsDiff > 0 && cmp.meanProbAbsDiff < 0.5, `prob diff ${cmp.meanProbAbsDiff}`);
    // Production's re-runs are not production traffic.
    assert.equal(cmp.latency.production.count, 0, JSON.stringify(cmp.latency));
    assert.equal(cmp.latency.candidate.count, 10);
  });

  it('promotes a pilot to production in one call and drops the pilot', async () => {
    const m = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const p = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model: m.model, promote: false });
    assert.equal(
      (
        await admin('PUT', `/v1/models/${m.model}/deployment`, {
          config: { pilots: [{ version: p.version, groups: [groupId] }] },
        })
      ).status,
      200,
    );
    const scientist = await serviceAccountKey('scientist', ['models:read', 'models:write'], groupId);
    assert.equal(
      (
        await http(env.apiUrl, 'POST', `/v1/models/${m.model}/deployment/promote-pilot`, {
          token: scientist,
          body: { version: p.version },
        })
      ).status,
      403,
    );
    assert.equal(
      (await admin('POST', `/v1/models/${m.model}/deployment/promote-pilot`, { version: m.version })).status,
      409,
    );
    const r = await admin('POST', `/v1/models/${m.model}/deployment/promote-pilot`, {
      version: p.version,
      comment: 'pilot went well',
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.transition.outcome, 'transitioned');
    assert.deepEqual(r.json.transition.archived, [m.version]);
    assert.deepEqual(r.json.revision.config.pilots, []);
    const outside = await serviceAccountKey('viewer', ['predict']);
    const q = await http(env.apiUrl, 'POST', `/v1/models/${m.model}/predict`, { token: outside, body: row });
    assert.equal(q.headers.get('x-model-version'), String(p.version));
    assert.equal(q.headers.get('x-deployment-role'), 'production');
  });

  it('rolls a pilot back by itself when it breaks its latency rule, and says why', async () => {
    const m = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const p = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model: m.model, promote: false });
    // An impossible p99 limit stands in for a degraded version: the rule must trip.
    const put = await admin('PUT', `/v1/models/${m.model}/deployment`, {
      config: {
        pilots: [
          {
            version: p.version,
            groups: [groupId],
            autoRollback: { maxP99Ms: 0.001, windowMinutes: 1, minRequests: 5 },
          },
        ],
      },
    });
    assert.equal(put.status, 200, put.text);
    const member = await serviceAccountKey('viewer', ['predict'], groupId);
    for (let i = 0; i < 10; i++) {
      const r = await http(env.apiUrl, 'POST', `/v1/models/${m.model}/predict`, { token: member, body: row });
      assert.equal(r.headers.get('x-deployment-role'), 'pilot');
    }
    let current: any;
    for (let i = 0; i < 60; i++) {
      current = (await admin('GET', `/v1/models/${m.model}/deployment`)).json.current;
      if (current.config.pilots.length === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(current.config.pilots, [], 'the pilot was switched off');
    assert.match(current.comment, /auto-rollback of pilot v\d+: p99 .* ms > 0.001 ms/);
    // The worker wrote the revision; the api hears of it over Redis pub/sub, within a moment.
    let role: string | null = null;
    for (let i = 0; i < 20 && role !== 'production'; i++) {
      role = (
        await http(env.apiUrl, 'POST', `/v1/models/${m.model}/predict`, { token: member, body: row })
      ).headers.get('x-deployment-role');
      if (role !== 'production') await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(role, 'production');
    const audit = await admin('GET', `/v1/audit?action=deployment.rolled_back`);
    assert.ok(audit.json.items.some((e: any) => e.summary.model === m.model && e.summary.version === p.version));
  });
});
