import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { reference, registerFixture, drawFromReference } from '../support/fixtures.js';

const env = e2eEnv();
const admin = (method: string, p: string, body?: unknown) =>
  http(env.apiUrl, method, p, { token: env.adminApiKey, body });
const ref = reference('iris_logreg');

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const draw = (n: number, shift: Record<string, number>, seed: number) => drawFromReference(ref, n, shift, seed);

describe('drift monitoring end to end: predictions -> log -> windows -> report -> alert webhook', () => {
  let model: string;
  let version: number;
  let receiver: Server;
  let secret: string;
  let webhookId: string;
  const received: { headers: Record<string, unknown>; body: string }[] = [];

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = await admin('POST', '/v1/webhooks', {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`,
      events: ['alert.firing', 'alert.resolved'],
    });
    assert.equal(hook.status, 201, hook.text);
    secret = hook.json.secret;
    webhookId = hook.json.webhook.id;
    ({ model, version } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg', {
      model: uniqueId('drift-iris'),
      reference: true,
    }));
  });
  after(async () => {
    await admin('DELETE', `/v1/webhooks/${webhookId}`);
    receiver.close();
  });

  it('builds the reference profile when the version becomes ready', async () => {
    const p = await until('the profile', async () => {
      const r = await admin('GET', `/v1/models/${model}/versions/${version}/drift-profile`);
      return r.status === 200 && r.json.status !== 'building' && r.json;
    });
    assert.equal(p.status, 'ready', p.error);
    assert.deepEqual(
      p.features.map((f: { name: string }) => f.name),
      ref.feature_names,
    );
    assert.equal(p.rows, ref.rows.length);
  });

  it('flags the shifted feature as drift, keeps the others ok, and fires an alert webhook', async () => {
    const rules = await admin('PUT', `/v1/models/${model}/alert-rules`, {
      rules: [{ kind: 'feature_drift', features: ['petal_length'], minRows: 100 }],
    });
    assert.equal(rules.status, 200, rules.text);
    // 300 rows in 6 requests: petal_length + 3, the rest drawn like the reference.
    for (let i = 0; i < 6; i++) {
      const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
        token: env.adminApiKey,
        body: { payload: draw(50, { petal_length: 3 }, i + 1) },
      });
      assert.equal(r.status, 200, r.text);
    }
    const latest = await until('a window with the 300 rows', async () => {
      const r = await admin('GET', `/v1/models/${model}/drift/latest?version=${version}`);
      return r.status === 200 && r.json.rows >= 300 && r.json;
    });
    assert.equal(latest.rows, 300);
    const status = Object.fromEntries(
      latest.report.features.map((f: { name: string; status: string }) => [f.name, f.status]),
    );
    assert.deepEqual(status, { sepal_length: 'ok', sepal_width: 'ok', petal_length: 'drift', petal_width: 'ok' });

    const series = await admin('GET', `/v1/models/${model}/drift?version=${version}`);
    assert.equal(series.status, 200, series.text);
    assert.equal(series.json.windows.at(-1).columns.petal_length.status, 'drift');

    const delivery = await until('the alert.firing webhook', async () =>
      received.find((d) => {
        const body = JSON.parse(d.body);
        return body.event === 'alert.firing' && body.data.model === model;
      }),
    );
    const body = JSON.parse(delivery.body);
    assert.equal(body.data.kind, 'feature_drift');
    assert.equal(body.data.version, version);
    assert.match(body.data.message, /petal_length/);
    const ts = String(delivery.headers['x-modelyard-timestamp']);
    assert.equal(
      delivery.headers['x-modelyard-signature'],
      `sha256=${createHmac('sha256', secret).update(`${ts}.${delivery.body}`).digest('hex')}`,
    );

    const alerts = await admin('GET', `/v1/alerts?model=${model}&state=firing`);
    assert.equal(alerts.status, 200, alerts.text);
    assert.deepEqual(
      alerts.json.map((a: { kind: string }) => a.kind),
      ['feature_drift'],
    );
  });

  it('reports the latency SLO and its error budget from the rollups of that traffic', async () => {
    let slo: any;
    for (let i = 0; i < 30; i++) {
      slo = (await admin('GET', `/v1/models/${model}/slo`)).json;
      if (slo.requests > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(slo.requests > 0, JSON.stringify(slo));
    assert.deepEqual([slo.latencySloMs, slo.objective, slo.errors], [300, 0.99, 0]);
    assert.ok(slo.p99Ms < 300 && slo.goodRatio > 0.99, JSON.stringify(slo));
    assert.ok(
      slo.budget.allowedBad > 0 && slo.budget.remaining > 0 && slo.budget.remaining <= 1,
      JSON.stringify(slo.budget),
    );
    assert.equal((await admin('GET', `/v1/models/${model}/slo?objective=2`)).status, 400);
  });

  it('lets a viewer read drift but not change alert rules', async () => {
    const sa = await admin('POST', '/v1/service-accounts', { name: uniqueId('drift-viewer'), role: 'viewer' });
    const key = (
      await admin('POST', '/v1/api-keys', { name: 'k', scopes: ['models:read'], serviceAccountId: sa.json.id })
    ).json.secret as string;
    assert.equal((await http(env.apiUrl, 'GET', `/v1/models/${model}/drift/latest`, { token: key })).status, 200);
    assert.equal(
      (await http(env.apiUrl, 'PUT', `/v1/models/${model}/alert-rules`, { token: key, body: { rules: [] } })).status,
      403,
    );
  });
});
