import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { TAlertRule } from '@modelyard/contracts';
import type { DriftRepository } from '../drift/drift.repository.js';
import { recordedEvents } from '../events/events.test-support.js';
import type { JobContext } from '../queue/job-handler.js';
import type { RollupsRepository } from '../serving/rollups.repository.js';
import { ROLLUP_BUCKETS_MS } from '../serving/rollups.service.js';
import { AlertEvaluatorService } from './alert-evaluator.service.js';
import type { PerformanceService } from '../feedback/performance.service.js';
import type { AlertsRepository } from './alerts.repository.js';

const MODEL_ID = 'm-1';
const CTX: JobContext = { jobId: 'q', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

type Rule = Partial<TAlertRule> & { id: string; kind: TAlertRule['kind'] };
type Window = { number: number; start: Date; rows: number; silentRows: number; report: unknown };
type Rollup = { version: number; role: string; minute: Date; count: number; errors: number; buckets: number[] };
type Alert = Record<string, unknown> & { id: string; openKey: string | null; state: string; ruleId: string };

/** A drift report as the fold stores it: the share, and per feature whether it drifts. */
const report = (driftShare: number, drifting: string[] = [], steady: string[] = []) => ({
  rows: 100,
  status: driftShare > 0 ? 'drift' : 'ok',
  driftShare,
  driftedFeatures: drifting.length,
  evaluatedFeatures: drifting.length + steady.length,
  features: [
    ...drifting.map((name) => ({ name, status: 'drift', psi: 0.9, js: 0.4, pValue: 0.001 })),
    ...steady.map((name) => ({ name, status: 'ok', psi: 0.01, js: 0.01, pValue: 0.9 })),
  ],
  outputs: [],
});
/** `count` requests of one minute, all in the latency bucket that holds `ms`, `errors` of them failed. */
const rollup = (version: number, count: number, errors: number, ms: number, over: Partial<Rollup> = {}): Rollup => {
  const buckets = new Array<number>(ROLLUP_BUCKETS_MS.length + 1).fill(0);
  const i = ROLLUP_BUCKETS_MS.findIndex((b) => ms <= b);
  buckets[i < 0 ? ROLLUP_BUCKETS_MS.length : i] = count;
  return { version, role: 'production', minute: minutesAgo(1), count, errors, buckets, ...over };
};

/** One model's rule set, its drift windows, rollups and alerts in memory; `open` honours the unique openKey. */
function fakes() {
  const set = { rules: [] as Rule[], latencySloMs: 300 };
  const windows: Window[] = [];
  const rollups: Rollup[] = [];
  const alerts: Alert[] = [];
  const repo = {
    allRuleSets: async () => [{ modelId: MODEL_ID, model: { name: 'iris' }, ...structuredClone(set) }],
    firing: async () => alerts.filter((a) => a.state === 'firing').map((a) => ({ ...a })),
    open: async (data: Record<string, unknown>) => {
      if (alerts.some((a) => a.openKey === data.openKey)) return null;
      const a = { ...data, id: `a${alerts.length + 1}`, resolvedAt: null } as unknown as Alert;
      alerts.push(a);
      return { ...a };
    },
    resolve: async (id: string, at: Date) => {
      const a = alerts.find((x) => x.id === id && x.state === 'firing');
      if (a) Object.assign(a, { state: 'resolved', openKey: null, resolvedAt: at });
      return { count: a ? 1 : 0 };
    },
  } as unknown as AlertsRepository;
  const drift = { recentWindows: async () => windows.map((w) => ({ ...w })) } as unknown as DriftRepository;
  const rollupsRepo = { range: async () => rollups.map((r) => ({ ...r })) } as unknown as RollupsRepository;
  return { set, windows, rollups, alerts, repo, drift, rollupsRepo };
}

describe(AlertEvaluatorService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: AlertEvaluatorService;
  beforeEach(() => {
    f = fakes();
    events = recordedEvents();
    const cfg = { worker: { drift: { windowMinutes: 60 } } } as unknown as CommonConfig;
    const performance = {
      scored: async () => ({ rows: [], views: new Map(), truncated: false }),
    } as unknown as PerformanceService;
    sut = new AlertEvaluatorService(
      f.repo,
      f.drift,
      f.rollupsRepo,
      events,
      performance,
      cfg,
      pino({ level: 'silent' }),
    );
  });
  const run = () => sut.handle({}, CTX);
  const fired = () => events.recorded.filter((e) => e.type === 'alert.firing');

  describe('drift rules', () => {
    it('opens one alert when a version’s latest window drifts past the share; records alert.firing once', async () => {
      f.set.rules = [{ id: 'share', kind: 'drift_share', above: 0.3, minRows: 50 }];
      f.windows.push({ number: 2, start: minutesAgo(30), rows: 80, silentRows: 0, report: report(0.5, ['a'], ['b']) });
      assert.deepEqual(await run(), { fired: 1, resolved: 0 });
      const a = f.alerts[0]!;
      assert.deepEqual(
        [a.modelName, a.version, a.ruleId, a.kind, a.state, a.openKey, a.silent, a.value, a.threshold],
        ['iris', 2, 'share', 'drift_share', 'firing', `${MODEL_ID}:share:2`, false, 0.5, 0.3],
      );
      assert.equal(a.message, 'drift share 50% > 30% (1 of 2 features)');
      assert.deepEqual(
        fired().map((e) => [e.objectId, (e.data as { state: string }).state]),
        [['a1', 'firing']],
      );
      // Still drifting on the next tick: the alert stays open, nothing new is sent.
      assert.deepEqual(await run(), { fired: 0, resolved: 0 });
      assert.deepEqual([f.alerts.length, fired().length], [1, 1]);
    });

    it('judges each version by its latest window with enough rows', async () => {
      f.set.rules = [{ id: 'share', kind: 'drift_share', above: 0.3, minRows: 50 }];
      f.windows.push(
        // v2: drifting an hour ago, calm now.
        { number: 2, start: minutesAgo(90), rows: 80, silentRows: 0, report: report(0.9, ['a']) },
        { number: 2, start: minutesAgo(30), rows: 80, silentRows: 0, report: report(0, [], ['a']) },
        // v3: drifting in its last full window; the current one has too few rows to speak.
        { number: 3, start: minutesAgo(90), rows: 80, silentRows: 80, report: report(0.9, ['a']) },
        { number: 3, start: minutesAgo(5), rows: 10, silentRows: 10, report: report(0, [], ['a']) },
      );
      assert.deepEqual(await run(), { fired: 1, resolved: 0 });
      // v3 is a silent (shadow) version: its alert is stored as silent.
      assert.deepEqual(
        f.alerts.map((a) => [a.version, a.silent]),
        [[3, true]],
      );
    });

    it('fires a feature rule only for the features it watches, naming them', async () => {
      f.set.rules = [
        { id: 'watch-a', kind: 'feature_drift', features: ['a', 'c'], minRows: 1 },
        { id: 'watch-b', kind: 'feature_drift', features: ['b'], minRows: 1 },
      ];
      f.windows.push({
        number: 1,
        start: minutesAgo(1),
        rows: 5,
        silentRows: 0,
        report: report(0.5, ['a', 'c'], ['b']),
      });
      await run();
      assert.deepEqual(
        f.alerts.map((a) => [a.ruleId, a.message, a.value]),
        [['watch-a', 'features in drift: a, c', 2]],
      );
      const details = f.alerts[0]!.details as { features: { name: string; psi: number }[] };
      assert.deepEqual(
        details.features.map((x) => [x.name, x.psi]),
        [
          ['a', 0.9],
          ['c', 0.9],
        ],
      );
    });
  });

  describe('latency and error rules', () => {
    it('fires on an error rate above the limit over the rule’s window, not on too few requests', async () => {
      f.set.rules = [{ id: 'errors', kind: 'error_rate', above: 0.05, windowMinutes: 5, minRequests: 20 }];
      f.rollups.push(
        rollup(2, 30, 3, 1),
        rollup(2, 30, 3, 1, { minute: minutesAgo(2) }),
        // Outside the 5-minute window: its errors do not count.
        rollup(2, 100, 100, 1, { minute: minutesAgo(30) }),
        rollup(3, 10, 10, 1),
      );
      assert.deepEqual(await run(), { fired: 1, resolved: 0 });
      const a = f.alerts[0]!;
      assert.deepEqual([a.version, a.value, a.message], [2, 0.1, 'error rate 10.0% > 5.0% over 5 min']);
      assert.deepEqual(a.details, { requests: 60, windowMinutes: 5 });
    });

    it('measures p99 against the rule’s own limit, else the model’s latency SLO', async () => {
      f.set.latencySloMs = 100;
      f.set.rules = [
        { id: 'slo', kind: 'latency_p99', windowMinutes: 5, minRequests: 20 },
        { id: 'own', kind: 'latency_p99', aboveMs: 1000, windowMinutes: 5, minRequests: 20 },
      ];
      f.rollups.push(rollup(2, 50, 0, 200));
      await run();
      assert.deepEqual(
        f.alerts.map((a) => [a.ruleId, a.threshold]),
        [['slo', 100]],
      );
      assert.ok(Number(f.alerts[0]!.value) > 100 && Number(f.alerts[0]!.value) <= 250, String(f.alerts[0]!.value));
    });
  });

  describe('resolving', () => {
    it('resolves an alert whose rule holds no more, has no data, or was removed, saying why', async () => {
      f.set.rules = [
        { id: 'share', kind: 'drift_share', above: 0.3, minRows: 1 },
        { id: 'errors', kind: 'error_rate', above: 0.05, windowMinutes: 5, minRequests: 20 },
        { id: 'gone', kind: 'drift_share', above: 0.9, minRows: 1 },
      ];
      f.windows.push({ number: 2, start: minutesAgo(1), rows: 5, silentRows: 0, report: report(0.95, ['a']) });
      f.rollups.push(rollup(2, 20, 20, 1));
      assert.deepEqual(await run(), { fired: 3, resolved: 0 });

      f.windows[0]!.report = report(
        0.1,
        ['a'],
        Array.from({ length: 9 }, (_, i) => `f${i}`),
      );
      f.rollups.splice(0);
      f.set.rules = f.set.rules.filter((r) => r.id !== 'gone');
      assert.deepEqual(await run(), { fired: 0, resolved: 3 });
      const reasons = Object.fromEntries(
        events.recorded
          .filter((e) => e.type === 'alert.resolved')
          .map((e) => {
            const d = e.data as { ruleId: string; reason: string; state: string; resolvedAt: string | null };
            assert.equal(d.state, 'resolved');
            assert.ok(d.resolvedAt);
            return [d.ruleId, d.reason];
          }),
      );
      assert.deepEqual(reasons, {
        share: 'drift share 10% <= 30% (1 of 10 features)',
        errors: 'no recent data',
        gone: 'the rule was removed',
      });
      assert.ok(f.alerts.every((a) => a.state === 'resolved' && a.openKey === null));
    });

    it('records nothing when another worker opened or resolved the alert first', async () => {
      f.set.rules = [{ id: 'share', kind: 'drift_share', above: 0.3, minRows: 1 }];
      f.windows.push({ number: 2, start: minutesAgo(1), rows: 5, silentRows: 0, report: report(0.5, ['a']) });
      const repo = f.repo as unknown as Record<string, unknown>;
      const firing = repo.firing as () => Promise<Alert[]>;
      // The other worker's alert is committed after this one read the open alerts.
      repo.firing = async () => {
        const open = await firing();
        f.alerts.push({ id: 'other', openKey: `${MODEL_ID}:share:2`, state: 'firing', ruleId: 'share' });
        return open;
      };
      assert.deepEqual(await run(), { fired: 0, resolved: 0 });
      assert.deepEqual(events.recorded, []);

      repo.firing = firing;
      f.windows.splice(0);
      const resolve = repo.resolve as (id: string, at: Date) => Promise<{ count: number }>;
      repo.resolve = async (id: string, at: Date) => {
        await resolve(id, at);
        return { count: 0 };
      };
      assert.deepEqual(await run(), { fired: 0, resolved: 0 });
      assert.deepEqual(events.recorded, []);
    });
  });
});
