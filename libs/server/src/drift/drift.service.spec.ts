import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobName, JobPayload, Scope } from '@modelyard/contracts';
import { testPrincipal } from '../auth/principal.test-support.js';
import { recordedEvents } from '../events/events.test-support.js';
import { AppError } from '../platform/errors.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { ArtifactStore } from '../registry/ports.js';
import type { RegistryRepository } from '../registry/registry.repository.js';
import { driftReport } from './drift-metrics.js';
import {
  buildReferenceProfile,
  rowsToBatch,
  type DriftRow,
  type DriftSchema,
  type NumericProfile,
} from './drift-profile.js';
import { createWindow, foldRows } from './drift-window.js';
import type { DriftRepository } from './drift.repository.js';
import { DriftService } from './drift.service.js';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const DAY = 24 * 3600_000;
const NOW = Date.now();

const viewer = () => testPrincipal({ role: 'viewer' });
const scientist = () => testPrincipal({ id: 'u2', name: 'Grace', role: 'scientist' });
const key = (scopes: Scope[], modelAllowList: string[] = []) =>
  testPrincipal({ role: 'admin', via: 'apiKey', apiKeyId: 'k1', scopes, modelAllowList });

// A reference of x ~ 0..99 and colours, and a window where x has moved far to the right: x drifts, colour does not.
const SCHEMA: DriftSchema = {
  features: [
    { name: 'x', kind: 'numeric' },
    { name: 'colour', kind: 'categorical' },
  ],
  outputs: [{ name: 'label', kind: 'categorical' }],
};
const rows = (shift: number): DriftRow[] =>
  Array.from({ length: 200 }, (_, i) => ({
    features: { x: (i % 100) + shift, colour: ['red', 'green', 'blue'][i % 3] },
    outputs: { label: String(i % 2) },
  }));
const PROFILE = buildReferenceProfile(SCHEMA, rowsToBatch(SCHEMA, rows(0)));
const WINDOW = foldRows(createWindow(PROFILE), PROFILE, rows(1000));
const REPORT = driftReport(PROFILE, WINDOW);

type Version = { number: number; stage: string; status: string; referenceUri: string | null };

/** The registry's versions and the drift tables of one model in memory, read the way the repositories read them. */
function fakes() {
  const versions: Version[] = [
    { number: 1, stage: 'Archived', status: 'ready', referenceUri: 's3://data/ref1.csv' },
    { number: 2, stage: 'Production', status: 'ready', referenceUri: 's3://data/ref2.csv' },
    { number: 3, stage: 'None', status: 'pending', referenceUri: 's3://data/ref3.csv' },
    { number: 4, stage: 'None', status: 'ready', referenceUri: null },
  ];
  const profiles = new Map<number, { status: string; profile: unknown; rows: number }>();
  const windows: { number: number; start: Date; minutes: number; rows: number; silentRows: number }[] = [];
  const adhoc = new Map<string, Record<string, unknown>>();
  const queries: { from: Date; to: Date }[] = [];
  const registry = {
    findModel: async (name: string) =>
      name === 'iris'
        ? { id: 'm1', name, versions: [...versions].sort((a, b) => b.number - a.number).map((v) => ({ ...v })) }
        : null,
    findVersion: async (name: string, n: number) => {
      const v = name === 'iris' ? versions.find((x) => x.number === n) : undefined;
      return v ? { id: `v${n}`, number: n, status: v.status, referenceUri: v.referenceUri } : null;
    },
  } as unknown as RegistryRepository;
  const windowRow = (w: (typeof windows)[number]) => ({
    model: 'iris',
    ...w,
    window: json(WINDOW),
    report: json(REPORT),
    updatedAt: new Date(w.start.getTime() + 60_000),
  });
  const repo = {
    findProfile: async (model: string, n: number) => {
      const p = model === 'iris' ? profiles.get(n) : undefined;
      return p ? { model, number: n, error: null, updatedAt: new Date(NOW), ...json(p) } : null;
    },
    latestProfiled: async () => {
      const n = Math.max(...profiles.keys());
      return Number.isFinite(n) ? { number: n } : null;
    },
    windows: async (_m: string, n: number, from: Date, to: Date) => {
      queries.push({ from, to });
      return windows
        .filter((w) => w.number === n && w.start >= from && w.start <= to)
        .sort((a, b) => +a.start - +b.start)
        .map(windowRow);
    },
    latestWindow: async (_m: string, n: number, start?: Date) => {
      const w = windows
        .filter((x) => x.number === n && (!start || +x.start === +start))
        .sort((a, b) => +b.start - +a.start)[0];
      return w ? windowRow(w) : null;
    },
    createAdhoc: async (data: Record<string, unknown>) => {
      const r = {
        id: `r${adhoc.size + 1}`,
        error: null,
        report: null,
        createdAt: new Date(NOW),
        finishedAt: null,
        ...data,
      };
      adhoc.set(r.id, r);
      return r;
    },
    findAdhoc: async (id: string) => adhoc.get(id) ?? null,
  } as unknown as DriftRepository;
  const queued: { name: JobName; payload: unknown; id?: string }[] = [];
  const jobs = {
    enqueue: async <N extends JobName>(name: N, payload: JobPayload<N>, opts: { jobId?: string } = {}) =>
      void queued.push({ name, payload, id: opts.jobId }),
  } as unknown as JobProducer;
  const store = {
    backendOf: (uri: string) => {
      if (uri.startsWith('s3://')) return 's3';
      throw new AppError('BAD_REQUEST', `Cannot read ${uri}: no storage backend is configured for it`);
    },
    locate: (uri: string) => ({ backend: 's3', key: uri.replace(/^s3:\/\/[^/]+\//, '') }),
    importPrefixes: () => [],
  } as unknown as ArtifactStore;
  return { versions, profiles, windows, adhoc, queries, queued, registry, repo, jobs, store };
}

describe(DriftService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: DriftService;
  beforeEach(() => {
    f = fakes();
    events = recordedEvents();
    sut = new DriftService(f.repo, f.registry, f.jobs, events, f.store);
  });
  const at = (daysAgo: number) => new Date(NOW - daysAgo * DAY);
  const addWindow = (number: number, start: Date, over: Partial<{ rows: number; silentRows: number }> = {}) =>
    f.windows.push({ number, start, minutes: 60, rows: 200, silentRows: 0, ...over });

  describe('series', () => {
    it('charts Production’s windows of the last 7 days, each with its status and per-column scores', async () => {
      f.profiles.set(2, { status: 'ready', profile: PROFILE, rows: 200 });
      addWindow(2, at(8));
      addWindow(2, at(2), { silentRows: 200 });
      addWindow(2, at(1));
      addWindow(1, at(1));
      const s = await sut.series(viewer(), 'iris', {});
      assert.deepEqual([s.version, s.features, s.outputs], [2, ['x', 'colour'], ['label']]);
      assert.deepEqual(
        s.windows.map((w) => [w.start, w.end, w.silent]),
        [
          [at(2).toISOString(), new Date(+at(2) + 3600_000).toISOString(), true],
          [at(1).toISOString(), new Date(+at(1) + 3600_000).toISOString(), false],
        ],
      );
      const w = s.windows[1]!;
      assert.deepEqual([w.rows, w.status, w.driftShare], [200, REPORT.status, REPORT.driftShare]);
      assert.equal(w.columns.x!.status, 'drift');
      assert.equal(w.columns.colour!.status, 'ok');
      assert.deepEqual(Object.keys(w.columns).sort(), ['colour', 'label', 'x']);
      assert.deepEqual(Object.keys(w.columns.x!).sort(), ['js', 'pValue', 'psi', 'status']);
      assert.ok(Math.abs(+f.queries[0]!.to - Date.now()) < 60_000);
      assert.equal(+f.queries[0]!.to - +f.queries[0]!.from, 7 * DAY);
    });

    it('refuses a range that ends before it starts or spans more than 93 days (400)', async () => {
      const iso = (d: Date) => d.toISOString();
      await assert.rejects(
        sut.series(viewer(), 'iris', { from: iso(at(1)), to: iso(at(2)) }),
        code('VALIDATION_FAILED'),
      );
      await assert.rejects(
        sut.series(viewer(), 'iris', { from: iso(at(100)), to: iso(at(0)) }),
        code('VALIDATION_FAILED'),
      );
      await assert.rejects(
        sut.series(viewer(), 'iris', { to: iso(at(0)), from: iso(at(94)) }),
        code('VALIDATION_FAILED'),
      );
      assert.equal((await sut.series(viewer(), 'iris', { from: iso(at(93)), to: iso(at(0)) })).windows.length, 0);
      assert.equal(f.queries.length, 1);
    });

    it('without Production, follows the newest profiled version, else the newest; 404 without any', async () => {
      f.versions[1]!.stage = 'Archived';
      f.profiles.set(1, { status: 'ready', profile: PROFILE, rows: 200 });
      assert.equal((await sut.series(viewer(), 'iris', {})).version, 1);
      f.profiles.clear();
      assert.equal((await sut.series(viewer(), 'iris', {})).version, 4);
      f.versions.splice(0);
      await assert.rejects(sut.series(viewer(), 'iris', {}), code('NOT_FOUND'));
    });

    it('answers 404 for an unknown model or version, and 403 to a key without models:read or the model', async () => {
      await assert.rejects(sut.series(viewer(), 'nope', {}), code('NOT_FOUND'));
      await assert.rejects(sut.series(viewer(), 'iris', { version: 9 }), code('NOT_FOUND'));
      await assert.rejects(sut.series(key(['predict']), 'iris', {}), code('FORBIDDEN'));
      await assert.rejects(sut.series(key(['models:read'], ['other']), 'iris', {}), code('FORBIDDEN'));
      assert.equal((await sut.series(key(['models:read'], ['iris']), 'iris', {})).version, 2);
    });
  });

  it('latest answers the newest window’s report, or a 404 saying what is missing', async () => {
    await assert.rejects(sut.latest(viewer(), 'iris', {}), (e: unknown) => {
      assert.ok(code('NOT_FOUND')(e));
      assert.match((e as Error).message, /No drift window for iris v2 yet: it needs a reference profile/);
      return true;
    });
    addWindow(2, at(3));
    addWindow(2, at(1), { rows: 0 });
    const w = await sut.latest(viewer(), 'iris', {});
    assert.deepEqual([w.model, w.version, w.start, w.rows, w.silent], ['iris', 2, at(1).toISOString(), 0, false]);
    assert.deepEqual(w.report, json(REPORT));
  });

  it('shows a version’s profile as the dashboard draws it: bins for numbers, categories for labels', async () => {
    await assert.rejects(sut.profile(viewer(), 'iris', 2), code('NOT_FOUND'));
    await assert.rejects(sut.profile(viewer(), 'iris', 9), code('NOT_FOUND'));
    f.profiles.set(2, { status: 'ready', profile: PROFILE, rows: 200 });
    const p = await sut.profile(viewer(), 'iris', 2);
    assert.deepEqual([p.model, p.version, p.status, p.rows], ['iris', 2, 'ready', 200]);
    const [x, colour] = p.features;
    assert.deepEqual(Object.keys(x!).sort(), ['counts', 'edges', 'kind', 'missing', 'name']);
    assert.equal(
      x!.counts.reduce((a, b) => a + b, 0),
      200,
    );
    assert.deepEqual([colour!.kind, [...colour!.categories!].sort()], ['categorical', ['blue', 'green', 'red']]);
    assert.deepEqual(
      p.outputs.map((o) => o.name),
      ['label'],
    );
    // A profile still building has no columns yet.
    f.profiles.set(2, { status: 'building', profile: null, rows: 0 });
    assert.deepEqual((await sut.profile(viewer(), 'iris', 2)).features, []);
  });

  describe('rebuildProfile', () => {
    it('queues a profile build from the stored reference and records drift.profile_requested', async () => {
      assert.deepEqual(await sut.rebuildProfile(scientist(), 'iris', 2), { queued: true });
      assert.deepEqual(
        f.queued.map((q) => [q.name, q.payload]),
        [['drift.profile', { versionId: 'v2' }]],
      );
      assert.match(f.queued[0]!.id!, /^drift-profile-v2-\d+$/);
      assert.deepEqual(
        events.recorded.map((e) => [e.type, e.objectId, e.data]),
        [['drift.profile_requested', 'v2', { model: 'iris', version: 2 }]],
      );
    });

    it('refuses a viewer (403), a version validating or without a reference (409), a missing one (404)', async () => {
      await assert.rejects(sut.rebuildProfile(viewer(), 'iris', 2), code('FORBIDDEN'));
      await assert.rejects(sut.rebuildProfile(scientist(), 'iris', 3), code('CONFLICT'));
      await assert.rejects(sut.rebuildProfile(scientist(), 'iris', 4), (e: unknown) => {
        assert.ok(code('CONFLICT')(e));
        assert.match((e as Error).message, /registered without a reference dataset/);
        return true;
      });
      await assert.rejects(sut.rebuildProfile(scientist(), 'iris', 9), code('NOT_FOUND'));
      assert.deepEqual([f.queued, events.recorded], [[], []]);
    });
  });

  describe('histogram', () => {
    it('puts a column’s reference bins beside the latest window’s counts, or a chosen window’s', async () => {
      f.profiles.set(2, { status: 'ready', profile: PROFILE, rows: 200 });
      addWindow(2, at(2));
      addWindow(2, at(1));
      const h = await sut.histogram(viewer(), 'iris', { column: 'x' });
      assert.deepEqual([h.version, h.column, h.start], [2, 'x', at(1).toISOString()]);
      // The bins the dashboard draws, not the reference sample behind the KS test.
      const px = PROFILE.features[0] as NumericProfile;
      assert.deepEqual(h.reference, { name: 'x', kind: 'numeric', counts: px.counts, missing: 0, edges: px.edges });
      // Every current value lies beyond the reference: all in the last bin.
      assert.deepEqual(h.current.counts, [...Array(h.reference.counts.length - 1).fill(0), 200]);
      const out = await sut.histogram(viewer(), 'iris', { column: 'label', start: at(2).toISOString() });
      assert.deepEqual(
        [out.start, 'categories' in out.reference && out.reference.categories],
        [at(2).toISOString(), ['0', '1']],
      );
    });

    it('answers 404 for a column it does not monitor, and without a profile or window', async () => {
      await assert.rejects(sut.histogram(viewer(), 'iris', { column: 'x' }), code('NOT_FOUND'));
      f.profiles.set(2, { status: 'ready', profile: PROFILE, rows: 200 });
      await assert.rejects(sut.histogram(viewer(), 'iris', { column: 'x' }), code('NOT_FOUND'));
      addWindow(2, at(1));
      await assert.rejects(sut.histogram(viewer(), 'iris', { column: 'nope' }), code('NOT_FOUND'));
      await assert.rejects(
        sut.histogram(viewer(), 'iris', { column: 'x', start: at(5).toISOString() }),
        code('NOT_FOUND'),
      );
    });
  });

  describe('ad hoc reports', () => {
    it('queues a report on a dataset, with who asked, and records drift.report_requested', async () => {
      const r = await sut.createReport(scientist(), 'iris', 2, { datasetUri: 's3://data/today.csv' });
      assert.deepEqual(
        [r.model, r.version, r.datasetUri, r.status, r.createdBy, r.report, r.finishedAt],
        ['iris', 2, 's3://data/today.csv', 'queued', 'Grace', null, null],
      );
      assert.deepEqual(
        [f.adhoc.get(r.id)!.versionId, f.adhoc.get(r.id)!.createdById, f.adhoc.get(r.id)!.createdByKind],
        ['v2', 'u2', 'user'],
      );
      assert.deepEqual(
        f.queued.map((q) => [q.name, q.payload, q.id]),
        [['drift.report', { reportId: r.id }, `drift-report-${r.id}`]],
      );
      assert.deepEqual(
        events.recorded.map((e) => [e.type, e.objectId, e.data]),
        [['drift.report_requested', 'v2', { model: 'iris', version: 2, datasetUri: 's3://data/today.csv' }]],
      );
      assert.deepEqual(await sut.getReport(viewer(), 'iris', 2, r.id), r);
    });

    it('refuses a dataset it cannot read (400) before creating or queueing anything', async () => {
      await assert.rejects(
        sut.createReport(scientist(), 'iris', 2, { datasetUri: 'ftp://elsewhere/x.csv' }),
        code('BAD_REQUEST'),
      );
      await assert.rejects(sut.createReport(scientist(), 'iris', 9, { datasetUri: 's3://d/x.csv' }), code('NOT_FOUND'));
      await assert.rejects(sut.createReport(viewer(), 'iris', 2, { datasetUri: 's3://d/x.csv' }), code('FORBIDDEN'));
      assert.deepEqual([f.adhoc.size, f.queued, events.recorded], [0, [], []]);
    });

    it('does not show a report under another model or version (404)', async () => {
      const r = await sut.createReport(scientist(), 'iris', 2, { datasetUri: 's3://data/today.csv' });
      await assert.rejects(sut.getReport(viewer(), 'iris', 1, r.id), code('NOT_FOUND'));
      await assert.rejects(sut.getReport(viewer(), 'other', 2, r.id), code('NOT_FOUND'));
      await assert.rejects(sut.getReport(viewer(), 'iris', 2, 'r404'), code('NOT_FOUND'));
    });
  });
});
