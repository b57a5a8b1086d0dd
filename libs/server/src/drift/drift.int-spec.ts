import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { loadWorkerConfig } from '@modelyard/config';
import { integrationEnv, uniqueId } from '@modelyard/testing';
import { ServerCoreModule } from '../server-core.module.js';
import { createLogger } from '../platform/logger.js';
import { SYSTEM, type Principal } from '../auth/principal.js';
import { DEFAULT_PROJECT_REF } from '../tenancy/model-key.js';
import { PrismaService } from '../db/prisma.service.js';
import { RegistryService } from '../registry/registry.service.js';
import { RegistryValidationService } from '../registry/registry-validation.service.js';
import { PredictionLogRepository } from '../predictions/prediction-log.repository.js';
import { RollupsRepository } from '../serving/rollups.repository.js';
import { ROLLUP_BUCKETS_MS } from '../serving/rollups.service.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { AlertsService } from '../alerts/alerts.service.js';
import { AppError } from '../platform/errors.js';
import { AlertEvaluatorService } from '../alerts/alert-evaluator.service.js';
import { DriftService } from './drift.service.js';
import { DriftProfilerService } from './drift-profiler.service.js';
import { DriftFoldService } from './drift-fold.service.js';
import { DriftAdhocService } from './drift-adhoc.service.js';

const FIXTURES = path.resolve(process.cwd(), 'test/fixtures/models');
const iris = readFileSync(path.join(FIXTURES, 'iris_logreg/model.onnx'));
const reference = JSON.parse(readFileSync(path.join(FIXTURES, 'iris_logreg/reference.json'), 'utf8')) as {
  feature_names: string[];
  rows: number[][];
};
const job = { jobId: 'test', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };
const admin: Principal = { ...SYSTEM, project: DEFAULT_PROJECT_REF, kind: 'user', name: 'drift-admin' } as Principal;

/** n rows drawn (deterministically) from the reference, with `shift` added to the named features. */
function drawRows(n: number, shift: Record<string, number> = {}, seed = 7) {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return Array.from({ length: n }, () => {
    const row = reference.rows[Math.floor(rnd() * reference.rows.length)]!;
    return Object.fromEntries(reference.feature_names.map((f, i) => [f, row[i]! + (shift[f] ?? 0)]));
  });
}

describe('drift monitoring: profile -> fold -> report -> alerts (real Postgres, Redis, local storage)', () => {
  let ctx: INestApplicationContext;
  let root: string;
  const model = uniqueId('drifty');
  const versions: { id: string; number: number }[] = [];

  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'modelyard-drift-'));
    const config = loadWorkerConfig(
      integrationEnv({ STORAGE_DEFAULT: 'local', STORAGE_LOCAL_ROOT: root, DRIFT_WINDOW_MINUTES: '60' }),
    );
    ctx = await NestFactory.createApplicationContext(
      ServerCoreModule.forRoot({ config, logger: createLogger(config.log, 'drift-test') }),
      { logger: false },
    );
    for (let i = 0; i < 2; i++) {
      const v = await ctx.get(RegistryService).registerVersion(
        admin,
        model,
        {
          description: '',
          tags: {},
          metrics: {},
          metadata: {},
          lineage: {},
          reference: { feature_names: reference.feature_names, rows: reference.rows },
        },
        { stream: Readable.from([iris]) },
      );
      await ctx.get(RegistryValidationService).handle({ versionId: v.id }, job);
      versions.push({ id: v.id, number: v.version });
    }
  });
  after(() => ctx.close());

  /** As the api logs them: the float32 values the model was fed (0.2 becomes 0.20000000298…). */
  async function log(version: number, drawn: Record<string, number>[], silent = false) {
    const rows = drawn.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.fround(v)])));
    await ctx.get(PredictionLogRepository).insertChunk(randomUUID(), [
      {
        model,
        version,
        role: silent ? 'silent' : 'production',
        silent,
        at: new Date(),
        latencyMs: 1,
        features: rows as never,
        outputs: rows.map(() => ({ label: 1, probabilities: [0.1, 0.8, 0.1] })) as never,
      },
    ]);
  }

  it('profiles a version from its reference dataset: features from the signature, outputs from the model', async () => {
    for (const v of versions) {
      const r = (await ctx.get(DriftProfilerService).handle({ versionId: v.id }, job)) as {
        features: number;
        outputs: number;
      };
      assert.equal(r.features, 4, JSON.stringify(r));
    }
    const p = await ctx.get(DriftService).profile(admin, model, versions[0]!.number);
    assert.equal(p.status, 'ready');
    assert.equal(p.rows, reference.rows.length);
    assert.deepEqual(
      p.features.map((f) => f.name),
      reference.feature_names,
    );
    assert.deepEqual(
      p.outputs.map((o) => o.name),
      ['prediction', 'proba_0', 'proba_1', 'proba_2'],
    );
    // The model's own labels on its training rows: all three classes appear.
    assert.equal(p.outputs[0]!.categories!.length, 3);
  });

  it('folds new log rows into the version window once, and reports the shifted feature as drift', async () => {
    const [v1, v2] = versions;
    // Rows from before the profile existed are not ours to worry about; start from a folded state.
    await ctx.get(DriftFoldService).handle({}, job);
    for (let i = 0; i < 4; i++) await log(v1!.number, drawRows(100, { petal_length: 3 }, i + 1));
    await log(v2!.number, drawRows(150, {}, 99), true);
    const r = (await ctx.get(DriftFoldService).handle({}, job)) as { rows: number };
    assert.ok(r.rows >= 550, JSON.stringify(r));

    const latest = await ctx.get(DriftService).latest(admin, model, { version: v1!.number });
    assert.equal(latest.rows, 400);
    assert.equal(latest.silent, false);
    const status = Object.fromEntries(latest.report!.features.map((f) => [f.name, f.status]));
    assert.deepEqual(status, { sepal_length: 'ok', sepal_width: 'ok', petal_length: 'drift', petal_width: 'ok' });
    assert.equal(latest.report!.driftShare, 0.25);

    // A second run finds nothing new: the watermark, not a rescan.
    await ctx.get(DriftFoldService).handle({}, job);
    assert.equal((await ctx.get(DriftService).latest(admin, model, { version: v1!.number })).rows, 400);

    // Silent rows went to the silent version's own window.
    const silent = await ctx.get(DriftService).latest(admin, model, { version: v2!.number });
    assert.equal(silent.rows, 150);
    assert.equal(silent.silent, true);
    assert.ok(
      silent.report!.features.every((f) => f.status === 'ok'),
      JSON.stringify(silent.report!.features.map((f) => [f.name, f.status, f.psi])),
    );

    const series = await ctx.get(DriftService).series(admin, model, { version: v1!.number });
    assert.equal(series.windows.length, 1);
    assert.equal(series.windows[0]!.columns.petal_length!.status, 'drift');
    assert.ok(series.windows[0]!.columns.petal_length!.psi! > 1);

    const h = await ctx.get(DriftService).histogram(admin, model, { version: v1!.number, column: 'petal_length' });
    assert.equal(
      h.current.counts.reduce((a, b) => a + b, 0),
      400,
    );
    // Shifted by 3, most values land in the open top bin.
    assert.ok(h.current.counts.at(-1)! > 200, JSON.stringify(h.current.counts));
  });

  it('fires drift, feature and latency alerts, delivers only the non-silent ones, and resolves them', async () => {
    const [v1, v2] = versions;
    const hook = await ctx.get(WebhooksService).create(admin, {
      url: 'https://receiver.invalid/hook',
      events: ['alert.firing', 'alert.resolved'],
      description: '',
    });
    const rules = await ctx.get(AlertsService).putRules(admin, model, {
      latencySloMs: 300,
      rules: [
        { kind: 'feature_drift', features: ['petal_length'], minRows: 50 },
        { kind: 'drift_share', above: 0.2, minRows: 50 },
        { kind: 'latency_p99', windowMinutes: 5, minRequests: 20 },
      ],
    });
    assert.equal(rules.rules.length, 3);
    assert.ok(rules.rules.every((r) => r.id));
    // 100 slow requests on v1 (all in the 1000-2500 ms bucket), 100 fast ones on silent v2.
    const slow = ROLLUP_BUCKETS_MS.map((_, i) => (i === ROLLUP_BUCKETS_MS.length - 1 ? 100 : 0)).concat([0]);
    const fast = ROLLUP_BUCKETS_MS.map((_, i) => (i === 2 ? 100 : 0)).concat([0]);
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    await ctx.get(RollupsRepository).add([
      { model, version: v1!.number, role: 'production', minute, count: 100, errors: 0, sumMs: 150_000, buckets: slow },
      { model, version: v2!.number, role: 'silent', minute, count: 100, errors: 0, sumMs: 200, buckets: fast },
    ]);

    const r = (await ctx.get(AlertEvaluatorService).handle({}, job)) as { fired: number };
    assert.ok(r.fired >= 3, JSON.stringify(r));
    const firing = await ctx.get(AlertsService).list(admin, { model, state: 'firing', limit: 100 });
    const kinds = firing
      .filter((a) => a.version === v1!.number)
      .map((a) => a.kind)
      .sort();
    assert.deepEqual(kinds, ['drift_share', 'feature_drift', 'latency_p99']);
    assert.ok(firing.every((a) => !a.silent));
    const fd = firing.find((a) => a.kind === 'feature_drift')!;
    assert.match(fd.message, /petal_length/);

    // Running again changes nothing: one firing alert per rule and version.
    assert.equal(((await ctx.get(AlertEvaluatorService).handle({}, job)) as { fired: number }).fired, 0);

    const db = ctx.get(PrismaService);
    const deliveries = await db.client.webhookDelivery.findMany({ where: { webhookId: hook.webhook.id } });
    assert.equal(deliveries.filter((d) => d.event === 'alert.firing').length, 3);
    assert.ok(
      deliveries.every((d) => (d.payload as { data: { model: string; version: number } }).data.version === v1!.number),
    );

    // A silent version's alert is recorded, not delivered.
    await ctx.get(AlertsService).putRules(admin, model, {
      latencySloMs: 300,
      rules: [{ kind: 'latency_p99', aboveMs: 1, windowMinutes: 5, minRequests: 20 }],
    });
    await ctx.get(AlertEvaluatorService).handle({}, job);
    const now = await ctx.get(AlertsService).list(admin, { model, limit: 100 });
    const silentAlert = now.find((a) => a.version === v2!.number && a.state === 'firing');
    assert.ok(silentAlert?.silent, JSON.stringify(now));
    // The three first rules are gone: their alerts resolved.
    assert.equal(now.filter((a) => a.state === 'resolved').length, 3);
    const after = await db.client.webhookDelivery.findMany({ where: { webhookId: hook.webhook.id } });
    assert.equal(after.filter((d) => d.event === 'alert.resolved').length, 3);
    assert.ok(
      after.every((d) => (d.payload as { data: { version: number } }).data.version === v1!.number),
      'nothing about the silent version',
    );
    await ctx
      .get(WebhooksService)
      .delete(admin, hook.webhook.id)
      .catch(() => {});
  });

  it('refuses the same rule twice with a 400 naming the second copy (rules.1), keeps the stored rules', async () => {
    const alerts = ctx.get(AlertsService);
    const before = await alerts.getRules(admin, model);
    const rule = { kind: 'drift_share' as const, above: 0.3, minRows: 50 };
    await assert.rejects(
      alerts.putRules(admin, model, {
        latencySloMs: 300,
        rules: [rule, { ...rule, description: 'the same, described differently' }],
      }),
      (e: unknown) => {
        assert.ok(e instanceof AppError, String(e));
        assert.equal(e.status, 400);
        assert.match(e.message, /^Rule 2 has the same id "drift_share-[0-9a-f]{10}" as rule 1/);
        assert.deepEqual(e.details, {
          issues: [{ path: 'rules.1', message: e.message.replace(/^Rule 2 has/, 'Has') + '.' }],
        });
        return true;
      },
    );
    assert.deepEqual(await alerts.getRules(admin, model), before);
  });

  it('makes an ad hoc report of a CSV in storage in the same shape', async () => {
    const file = path.join(root, 'datasets', `${uniqueId('d')}.csv`);
    const rows = drawRows(300, { sepal_width: 2 }, 5);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      [reference.feature_names.join(','), ...rows.map((r) => reference.feature_names.map((f) => r[f]).join(','))].join(
        '\n',
      ),
    );
    const created = await ctx
      .get(DriftService)
      .createReport(admin, model, versions[0]!.number, { datasetUri: pathToFileURL(file).href });
    assert.equal(created.status, 'queued');
    await ctx.get(DriftAdhocService).handle({ reportId: created.id }, job);
    const done = await ctx.get(DriftService).getReport(admin, model, versions[0]!.number, created.id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    assert.equal(done.report!.rows, 300);
    const status = Object.fromEntries(done.report!.features.map((f) => [f.name, f.status]));
    assert.deepEqual(status, { sepal_length: 'ok', sepal_width: 'drift', petal_length: 'ok', petal_width: 'ok' });
    assert.deepEqual(done.report!.outputs, []);
  });

  it('does not profile outputs from a model artifact swapped in storage after validation', async () => {
    const v = versions[0]!;
    const row = await ctx.get(PrismaService).client.modelVersion.findUniqueOrThrow({ where: { id: v.id } });
    const file = fileURLToPath(row.servingUri ?? row.storageUri);
    const original = readFileSync(file);
    // A valid model with the same signature: without the checksum its answers would become the reference.
    writeFileSync(file, readFileSync(path.join(FIXTURES, 'iris_rf/model.onnx')));
    try {
      const r = (await ctx.get(DriftProfilerService).handle({ versionId: v.id }, job)) as { failed?: string };
      assert.equal(r.failed, 'The stored artifact <url> does not match its checksum');
      const p = await ctx.get(DriftService).profile(admin, model, v.number);
      assert.equal(p.status, 'failed');
      assert.equal(p.error, r.failed);
    } finally {
      writeFileSync(file, original);
    }
  });
});
