import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { reference, registerFixture } from '../support/fixtures.js';

const env = e2eEnv();
const admin = (method: string, p: string, body?: unknown, headers?: Record<string, string>) =>
  http(env.apiUrl, method, p, { token: env.adminApiKey, body, headers });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serviceAccountKey(scopes: string[], groupId?: string) {
  const sa = await admin('POST', '/v1/service-accounts', { name: uniqueId('fb-sa'), role: 'viewer' });
  if (groupId)
    assert.equal(
      (await admin('POST', `/v1/groups/${groupId}/members`, { kind: 'serviceAccount', id: sa.json.id })).status,
      201,
    );
  return (await admin('POST', '/v1/api-keys', { name: 'k', scopes, serviceAccountId: sa.json.id })).json
    .secret as string;
}

const ref = reference('iris_logreg') as { feature_names: string[]; rows: number[][]; target: number[] };
const record = (i: number) =>
  Object.fromEntries(ref.feature_names.map((f, c) => [f, ref.rows[i % ref.rows.length]![c]!]));
/** The truth we label with: the dataset's target, deliberately wrong on every fourth row so metrics are not all 1. */
const truthOf = (i: number) =>
  i % 4 === 3 ? (ref.target[i % ref.rows.length]! + 1) % 3 : ref.target[i % ref.rows.length]!;

/** One answered row, as the caller saw it. */
interface Seen {
  predictionId: string;
  row: number;
  version: number;
  role: string;
  predicted: number;
  proba: number[];
  truth: number;
}

async function predict(model: string, key: string, indexes: number[], entityIds?: string[]): Promise<Seen[]> {
  const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
    token: key,
    body: { payload: indexes.map(record) },
    headers: entityIds ? { 'x-entity-id': entityIds.join(',') } : {},
  });
  assert.equal(r.status, 200, r.text);
  const predictionId = r.headers.get('x-prediction-id')!;
  assert.match(predictionId, /^[0-9a-f-]{36}$/, 'every answer carries a prediction id');
  return indexes.map((i, row) => ({
    predictionId,
    row,
    version: Number(r.headers.get('x-model-version')),
    role: r.headers.get('x-deployment-role')!,
    predicted: r.json.predictions[row],
    proba: r.json.predictions_prob[row],
    truth: truthOf(i),
  }));
}

// ---- the figures, computed here from the rows the callers saw (independently of the server's code) ----
function expected(rows: Seen[], predictions: number) {
  const labelled = rows.length;
  const acc = rows.filter((r) => r.predicted === r.truth).length / labelled;
  const classes = [...new Set(rows.flatMap((r) => [r.truth, r.predicted]))];
  let p = 0;
  let rc = 0;
  let f = 0;
  for (const c of classes) {
    const tp = rows.filter((r) => r.predicted === c && r.truth === c).length;
    const predictedC = rows.filter((r) => r.predicted === c).length;
    const actualC = rows.filter((r) => r.truth === c).length;
    const prec = predictedC ? tp / predictedC : 0;
    const rec = actualC ? tp / actualC : 0;
    p += prec;
    rc += rec;
    f += prec + rec ? (2 * prec * rec) / (prec + rec) : 0;
  }
  // AUC by its definition: over every (positive, negative) pair of a class, the share the positive outranks.
  const aucs: number[] = [];
  for (const c of [0, 1, 2]) {
    const pos = rows.filter((r) => r.truth === c).map((r) => r.proba[c]!);
    const neg = rows.filter((r) => r.truth !== c).map((r) => r.proba[c]!);
    if (!pos.length || !neg.length) continue;
    let wins = 0;
    for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
    aucs.push(wins / (pos.length * neg.length));
  }
  const logLoss =
    -rows.reduce((s, r) => s + Math.log(Math.min(1 - 1e-15, Math.max(1e-15, r.proba[r.truth]!))), 0) / labelled;
  return {
    predictions,
    labelled,
    coverage: labelled / predictions,
    accuracy: acc,
    precision: p / classes.length,
    recall: rc / classes.length,
    f1: f / classes.length,
    auc: aucs.reduce((a, b) => a + b, 0) / aucs.length,
    logLoss,
  };
}

function assertFigures(actual: Record<string, unknown> | undefined, want: ReturnType<typeof expected>, what: string) {
  assert.ok(actual, `${what}: no slice`);
  for (const [k, v] of Object.entries(want)) {
    const a = actual[k] as number;
    assert.ok(typeof a === 'number' && Math.abs(a - v) <= 1e-9, `${what}: ${k} is ${a}, computed by hand ${v}`);
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

describe('ground truth: labels by prediction id and entity id, joined into performance per version and role', () => {
  let model: string;
  let groupName: string;
  let pilotKey: string;
  let prodKey: string;
  let silentVersion: number;
  const started = new Date(Date.now() - 1000).toISOString();

  before(async () => {
    const v1 = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    model = v1.model;
    const v2 = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model, promote: false });
    const v3 = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg', { model, promote: false });
    silentVersion = v3.version;
    groupName = uniqueId('fb-group');
    const groupId = (await admin('POST', '/v1/groups', { name: groupName })).json.id;
    const put = await admin('PUT', `/v1/models/${model}/deployment`, {
      config: {
        pilots: [{ version: v2.version, groups: [groupId] }],
        silent: [{ version: v3.version, sampleRate: 1 }],
      },
    });
    assert.equal(put.status, 200, put.text);
    pilotKey = await serviceAccountKey(['predict'], groupId);
    prodKey = await serviceAccountKey(['predict']);
  });

  it('gives per-version and per-role accuracy, precision, recall, F1, AUC and log loss equal to the hand-computed ones, with coverage', async () => {
    // Production: 24 one-row requests, the first 12 with an entity id each. Pilot: 10 requests of two rows.
    const prod: Seen[] = [];
    for (let i = 0; i < 24; i++)
      prod.push(...(await predict(model, prodKey, [i], i < 12 ? [`ent-${model}-${i}`] : undefined)));
    const pilot: Seen[] = [];
    for (let i = 0; i < 10; i++) pilot.push(...(await predict(model, pilotKey, [100 + 2 * i, 101 + 2 * i])));
    assert.ok(prod.every((r) => r.role === 'production') && pilot.every((r) => r.role === 'pilot'));

    // Labels arrive later: production rows 0-11 by entity id as CSV, rows 12-19 by prediction id one at a time
    // (20-23 stay unlabelled); pilot rows by prediction id and row as JSON Lines, all but the last two.
    const csv = ['entityId,label', ...prod.slice(0, 12).map((r, i) => `ent-${model}-${i},${r.truth}`)].join('\n');
    const up = await admin('POST', `/v1/models/${model}/feedback`, csv, { 'content-type': 'text/csv' });
    assert.equal(up.status, 200, up.text);
    assert.deepEqual(up.json, { received: 12, stored: 12, replaced: 0, duplicates: 0, matched: up.json.matched });
    for (const r of prod.slice(12, 20)) {
      // A wrong label first, then the right one: the last one wins, and the replacement is counted.
      const wrong = await admin('POST', `/v1/models/${model}/feedback`, { predictionId: r.predictionId, label: 9 });
      assert.equal(wrong.json.stored, 1, wrong.text);
      const right = await admin('POST', `/v1/models/${model}/feedback`, {
        predictionId: r.predictionId,
        label: r.truth,
      });
      assert.deepEqual({ stored: right.json.stored, replaced: right.json.replaced }, { stored: 0, replaced: 1 });
    }
    const jsonl = pilot
      .slice(0, 18)
      .map((r) => JSON.stringify({ predictionId: r.predictionId, row: r.row, label: r.truth }))
      .join('\n');
    const up2 = await admin('POST', `/v1/models/${model}/feedback`, jsonl, { 'content-type': 'application/x-ndjson' });
    assert.equal(up2.status, 200, up2.text);
    assert.equal(up2.json.stored, 18);

    // Every silent copy is logged, or dropped and counted: under load the side thread drops copies past its CPU
    // budget by design (issue 9), so the test waits for both and checks what was logged.
    const { report, dropped } = await waitFor('the prediction log to hold every request', async () => {
      const r = await admin('GET', `/v1/models/${model}/performance?from=${started}&window=1d`);
      assert.equal(r.status, 200, r.text);
      const n = (role: string) => r.json.byVersion.find((s: any) => s.role === role)?.predictions ?? 0;
      const cmp = await admin('GET', `/v1/models/${model}/deployment/comparison?version=${silentVersion}`);
      const lost = cmp.json.dropped as number;
      return n('production') === 24 && n('pilot') === 20 && n('silent') + lost === 24
        ? { report: r.json, dropped: lost }
        : undefined;
    });
    const slice = (role: string, list = report.byVersion) => list.find((s: any) => s.role === role);
    const prodWant = expected(prod.slice(0, 20), 24);
    assertFigures(slice('production'), prodWant, 'production');
    assertFigures(slice('pilot'), expected(pilot.slice(0, 18), 20), 'pilot');
    // The silent version is the production model again: the same rows, under the same prediction ids. When a copy
    // was dropped the rows behind its figures are not known here: then only its count is checked.
    if (dropped === 0) assertFigures(slice('silent'), prodWant, 'silent');
    else assert.equal(slice('silent').predictions, 24 - dropped);
    assert.equal(slice('production').version, prod[0]!.version);
    assert.equal(slice('pilot').version, pilot[0]!.version);
    // Per caller group (the pilot's callers) and per window (one day-long window holds all of it).
    const byGroup = report.byGroup.find((s: any) => s.group === groupName && s.role === 'pilot');
    assertFigures(byGroup, expected(pilot.slice(0, 18), 20), 'pilot group');
    assertFigures(slice('production', report.byWindow), prodWant, 'production window');

    // The dashboard's Performance page shows the same figures per version and role.
    const login = await http(env.apiUrl, 'POST', '/v1/auth/login', {
      body: { email: env.adminEmail, password: env.adminPassword },
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${env.webUrl}/models/${model}/performance?range=24h`, { headers: { cookie } });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Performance by version and role/);
    const shown = (n: number) => String(Number(n.toPrecision(3)));
    for (const [key, want] of [
      [`v${prod[0]!.version} production`, prodWant],
      [`v${pilot[0]!.version} pilot`, expected(pilot.slice(0, 18), 20)],
    ] as const) {
      const row = html.slice(html.indexOf(key), html.indexOf('</tr>', html.indexOf(key)));
      assert.ok(row.includes(shown(want.accuracy)) && row.includes(shown(want.f1)), `${key} row: ${row.slice(0, 400)}`);
    }
  });
});

describe('performance alerts', () => {
  it('fires when accuracy falls below the rule with enough labels, and resolves when corrected labels arrive', async () => {
    const { model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const rules = await admin('PUT', `/v1/models/${model}/alert-rules`, {
      rules: [{ id: 'acc', kind: 'performance', metric: 'accuracy', threshold: 0.8, minLabels: 10, windowMinutes: 60 }],
    });
    assert.equal(rules.status, 200, rules.text);
    const key = await serviceAccountKey(['predict']);
    const seen: Seen[] = [];
    for (let i = 0; i < 12; i++) seen.push(...(await predict(model, key, [i])));
    // Every label contradicts the model: accuracy 0 of 12.
    const wrong = { labels: seen.map((r) => ({ predictionId: r.predictionId, label: (r.predicted + 1) % 3 })) };
    assert.equal((await admin('POST', `/v1/models/${model}/feedback`, wrong)).status, 200);
    const alert = await waitFor('the performance alert', async () => {
      const r = await admin('GET', `/v1/alerts?model=${model}&state=firing`);
      return r.json.find((a: any) => a.ruleId === 'acc');
    });
    assert.equal(alert.kind, 'performance');
    assert.equal(alert.value, 0);
    assert.equal(alert.threshold, 0.8);
    assert.match(alert.message, /accuracy 0\.000 < 0\.8 over 60 min \(12 labelled of 12 predictions, coverage 100%\)/);
    // The truth was the model's answer after all: the corrected labels replace the wrong ones.
    const right = { labels: seen.map((r) => ({ predictionId: r.predictionId, label: r.predicted })) };
    const fixed = await admin('POST', `/v1/models/${model}/feedback`, right);
    assert.equal(fixed.json.replaced, 12, fixed.text);
    const resolved = await waitFor('the alert to resolve', async () => {
      const r = await admin('GET', `/v1/alerts?model=${model}&state=resolved`);
      return r.json.find((a: any) => a.id === alert.id);
    });
    assert.ok(resolved.resolvedAt);
    const audit = await admin('GET', `/v1/audit?action=alert.resolved`);
    assert.ok(audit.json.items.some((e: any) => e.objectId === alert.id && /accuracy 1\.000/.test(e.summary.reason)));
  });
});
