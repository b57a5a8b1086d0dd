import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { reference, registerFixture } from '../support/fixtures.js';

const env = e2eEnv();
const admin = (method: string, p: string, body?: unknown) =>
  http(env.apiUrl, method, p, { token: env.adminApiKey, body });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ref = reference('iris_logreg');
const record = (i: number) =>
  Object.fromEntries(ref.feature_names.map((f, c) => [f, ref.rows[i % ref.rows.length]![c]!]));

async function memberKey(groupId: string | null) {
  const sa = await admin('POST', '/v1/service-accounts', { name: uniqueId('judge-sa'), role: 'viewer' });
  if (groupId) await admin('POST', `/v1/groups/${groupId}/members`, { kind: 'serviceAccount', id: sa.json.id });
  return (await admin('POST', '/v1/api-keys', { name: 'k', scopes: ['predict'], serviceAccountId: sa.json.id })).json
    .secret as string;
}

/**
 * A model with a group pilot that carries a judge rule, 60 labelled predictions each side. The labels are
 * synthetic: a side's predictions are called right at the given rate (the first `rate x 60` rows of each side).
 */
async function judgedPilot(pilotRight: number, productionRight: number) {
  const m = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
  const p = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model: m.model, promote: false });
  const groupId = (await admin('POST', '/v1/groups', { name: uniqueId('judge-group') })).json.id;
  const put = await admin('PUT', `/v1/models/${m.model}/deployment`, {
    config: {
      pilots: [
        {
          version: p.version,
          groups: [groupId],
          judge: { metric: 'accuracy', minLabels: 50, confidence: 0.95, windowMinutes: 60 },
        },
      ],
    },
    comment: 'pilot judged on labelled traffic',
  });
  assert.equal(put.status, 200, put.text);
  const labels: { predictionId: string; label: number }[] = [];
  for (const [key, right, role] of [
    [await memberKey(groupId), pilotRight, 'pilot'],
    [await memberKey(null), productionRight, 'production'],
  ] as const) {
    for (let i = 0; i < 60; i++) {
      const r = await http(env.apiUrl, 'POST', `/v1/models/${m.model}/predict`, {
        token: key,
        body: { payload: [record(i)] },
      });
      assert.equal(r.headers.get('x-deployment-role'), role);
      const predicted = r.json.predictions[0] as number;
      labels.push({
        predictionId: r.headers.get('x-prediction-id')!,
        label: i < right * 60 ? predicted : (predicted + 1) % 3,
      });
    }
  }
  // Both sides' labels in one upload, so the rule never sees one side labelled and the other not.
  const fb = await admin('POST', `/v1/models/${m.model}/feedback`, { labels });
  assert.equal(fb.status, 200, fb.text);
  return { model: m.model, production: m.version, pilot: p.version };
}

/**
 * The audit row of a model's event: the dispatcher writes it right after the change commits (the revision can be
 * read a moment before it), so it is waited for, briefly.
 */
async function audited(action: string, model: string) {
  for (let i = 0; i < 50; i++) {
    const audit = await admin('GET', `/v1/audit?action=${action}`);
    const e = audit.json.items.find((x: any) => x.summary.model === model);
    if (e) return e;
    await sleep(200);
  }
  assert.fail(`no ${action} audit row for ${model}`);
}

async function pilotsOff(model: string) {
  for (let i = 0; i < 100; i++) {
    const current = (await admin('GET', `/v1/models/${model}/deployment`)).json.current;
    if (current.config.pilots.length === 0) return current;
    await sleep(300);
  }
  assert.fail('the rule never decided');
}

describe('pilots judged by statistics on labelled traffic', () => {
  // A webhook receiver for the decisions: deployment.promoted and deployment.rolled_back carry the evidence.
  const received: { event: string; data: { model: string; reason: string } }[] = [];
  let receiver: Server;
  let webhookId: string;
  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = await admin('POST', '/v1/webhooks', {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/decisions`,
      events: ['deployment.promoted', 'deployment.rolled_back'],
    });
    assert.equal(hook.status, 201, hook.text);
    webhookId = hook.json.webhook.id;
  });
  after(async () => {
    await admin('DELETE', `/v1/webhooks/${webhookId}`);
    receiver.close();
  });
  const delivered = async (event: string, model: string) => {
    for (let i = 0; i < 100; i++) {
      const d = received.find((x) => x.event === event && x.data.model === model);
      if (d) return d;
      await sleep(200);
    }
    assert.fail(`no ${event} webhook for ${model}`);
  };

  it('promotes a pilot that is truly better (95% vs 60% right) and records the evidence', async () => {
    const { model, pilot, production } = await judgedPilot(0.95, 0.6);
    const current = await pilotsOff(model);
    assert.match(
      current.comment,
      /^promoted by its rule: pilot v\d+ accuracy 0\.950 vs production v\d+ 0\.600 \(difference \+0\.350, 95% CI \[0\.\d+, 0\.\d+\], p = [\d.e-]+, two-proportion z test\) on 60 and 60 labelled predictions: better$/,
    );
    const stageOf = async (n: number) => (await admin('GET', `/v1/models/${model}/versions/${n}`)).json.stage;
    assert.equal(await stageOf(pilot), 'Production');
    assert.equal(await stageOf(production), 'Archived');
    const e = await audited('deployment.promoted', model);
    assert.equal(e.actor.kind, 'system');
    assert.match(e.summary.reason, /p = .* two-proportion z test/);
    assert.equal((await delivered('deployment.promoted', model)).data.reason, e.summary.reason);
    const cmp = await admin(
      'GET',
      `/v1/models/${model}/performance/compare?version=${pilot}&from=${new Date(Date.now() - 3600_000).toISOString()}`,
    );
    assert.equal(cmp.status, 200, cmp.text);
    assert.equal(cmp.json.candidate.labelled, 60);
    assert.equal(cmp.json.production.labelled, 60);
  });

  it('rolls back a pilot that is truly worse (55% vs 95% right) and records the evidence', async () => {
    const { model, production, pilot } = await judgedPilot(0.55, 0.95);
    const current = await pilotsOff(model);
    assert.match(
      current.comment,
      /^auto-rollback of pilot v\d+: judged worse than production: pilot v\d+ accuracy 0\.550 vs production v\d+ 0\.950 .*: worse$/,
    );
    const stageOf = async (n: number) => (await admin('GET', `/v1/models/${model}/versions/${n}`)).json.stage;
    assert.equal(await stageOf(production), 'Production');
    assert.notEqual(await stageOf(pilot), 'Production');
    const e = await audited('deployment.rolled_back', model);
    assert.match(e.summary.reason, /judged worse than production: .* two-proportion z test/);
    assert.equal((await delivered('deployment.rolled_back', model)).data.reason, e.summary.reason);
  });
});
