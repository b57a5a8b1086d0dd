import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { TDriftReport } from '@modelyard/contracts';
import type { JobContext } from '../queue/job-handler.js';
import type { ArtifactStore } from '../registry/ports.js';
import { DriftAdhocService } from './drift-adhoc.service.js';
import { buildReferenceProfile, rowsToBatch, type DriftRow, type DriftSchema } from './drift-profile.js';
import type { DriftRepository } from './drift.repository.js';

const ctx = (attempt = 1, maxAttempts = 3): JobContext => ({
  jobId: 'q',
  attempt,
  maxAttempts,
  updateProgress: async () => {},
});
const SCHEMA: DriftSchema = {
  features: [
    { name: 'x', kind: 'numeric' },
    { name: 'colour', kind: 'categorical' },
  ],
  outputs: [{ name: 'label', kind: 'categorical' }],
};
const COLOURS = ['red', 'green', 'blue'];
const rows = (n: number, shift: number): DriftRow[] =>
  Array.from({ length: n }, (_, i) => ({
    features: { x: (i % 100) + shift, colour: COLOURS[i % 3] },
    outputs: { label: String(i % 2) },
  }));
const PROFILE = JSON.parse(JSON.stringify(buildReferenceProfile(SCHEMA, rowsToBatch(SCHEMA, rows(300, 0))))) as unknown;
const csv = (n: number, shift: number) =>
  `x,colour\n${rows(n, shift)
    .map((r) => `${r.features.x as number},${r.features.colour as string}`)
    .join('\n')}\n`;

/** One ad hoc report, the version's profile and the dataset blobs in memory. */
function fakes() {
  const report: Record<string, unknown> = {
    id: 'r1',
    model: 'iris',
    number: 2,
    datasetUri: 's3://data/today.csv',
    status: 'queued',
    error: null,
    report: null,
  };
  const state = {
    profile: { status: 'ready', error: null, profile: PROFILE, schema: {} } as Record<string, unknown> | null,
    blobs: new Map<string, string>(),
    getError: null as Error | null,
    statuses: [] as unknown[],
  };
  const repo = {
    findAdhoc: async (id: string) => (id === report.id ? { ...report } : null),
    updateAdhoc: async (_id: string, data: Record<string, unknown>) => {
      state.statuses.push(data.status);
      Object.assign(report, data);
    },
    findProfile: async () => state.profile,
  } as unknown as DriftRepository;
  const store = {
    get: async (uri: string) => {
      if (state.getError) throw state.getError;
      return Readable.from([Buffer.from(state.blobs.get(uri) ?? '')]);
    },
    maxUploadBytes: () => 1_000_000,
  } as unknown as ArtifactStore;
  return { report, state, repo, store };
}

describe(DriftAdhocService.name, () => {
  let f: ReturnType<typeof fakes>;
  const sut = () => new DriftAdhocService(f.repo, f.store, pino({ level: 'silent' }), {} as unknown as CommonConfig);
  beforeEach(() => {
    f = fakes();
  });
  const stored = () => f.report.report as TDriftReport;

  it('reports a dataset far from the reference as drift, feature by feature, and stores it', async () => {
    f.state.blobs.set('s3://data/today.csv', csv(200, 1000));
    assert.deepEqual(await sut().handle({ reportId: 'r1' }, ctx()), { status: 'drift', rows: 200 });
    assert.deepEqual(f.state.statuses, ['running', 'succeeded']);
    assert.deepEqual([f.report.status, f.report.error], ['succeeded', null]);
    assert.ok(f.report.finishedAt instanceof Date);
    const r = stored();
    assert.deepEqual(
      r.features.map((c) => [c.name, c.status]),
      [
        ['x', 'drift'],
        ['colour', 'ok'],
      ],
    );
    // A dataset has no model outputs: only features are compared.
    assert.deepEqual(r.outputs, []);
  });

  it('reports a dataset like the reference as ok, reading a JSON dataset shaped like reference.json', async () => {
    f.report.datasetUri = 's3://data/today.json';
    const data = rows(300, 0).map((r) => [r.features.x, r.features.colour]);
    f.state.blobs.set('s3://data/today.json', JSON.stringify({ feature_names: ['x', 'colour'], rows: data }));
    assert.deepEqual(await sut().handle({ reportId: 'r1' }, ctx()), { status: 'ok', rows: 300 });
  });

  it('fails the report, saying why, when the version has no ready profile', async () => {
    f.state.profile = { status: 'failed', error: 'the reference has no rows', profile: null, schema: {} };
    f.state.blobs.set('s3://data/today.csv', csv(10, 0));
    assert.deepEqual(await sut().handle({ reportId: 'r1' }, ctx(1, 3)), {
      failed: 'Version 2 has no reference profile yet (failed: the reference has no rows)',
    });
    assert.equal(f.report.status, 'failed');
    f.report.status = 'queued';
    f.state.profile = null;
    await sut().handle({ reportId: 'r1' }, ctx());
    assert.equal(f.report.error, 'Version 2 has no reference profile yet (none)');
  });

  it('fails at once on a dataset it cannot use: bad JSON, no data rows, none of the model’s features', async () => {
    const failure = async (uri: string, text: string) => {
      f = fakes();
      f.report.datasetUri = uri;
      f.state.blobs.set(uri, text);
      const r = (await sut().handle({ reportId: 'r1' }, ctx(1, 3))) as { failed: string };
      assert.equal(f.report.status, 'failed');
      return r.failed;
    };
    assert.match(await failure('s3://d/a.json', '{"feature_names": ['), /^The dataset is not valid JSON/);
    assert.match(await failure('s3://d/a.json', '{"rows": [[1]]}'), /needs feature_names and rows/);
    assert.equal(await failure('s3://d/a.csv', 'x,colour\n'), 'The CSV needs a header row and at least one data row');
    assert.match(
      await failure('s3://d/a.csv', 'a,b\n1,2\n'),
      /The dataset has none of the model's features \(x, colour/,
    );
  });

  it('retries a storage outage, and fails the report on the last attempt without the details', async () => {
    f.state.getError = Object.assign(new Error('getaddrinfo ENOTFOUND minio.internal'), { code: 'ENOTFOUND' });
    await assert.rejects(sut().handle({ reportId: 'r1' }, ctx(1, 2)), /ENOTFOUND/);
    assert.equal(f.report.status, 'running');
    const r = (await sut().handle({ reportId: 'r1' }, ctx(2, 2))) as { failed: string };
    assert.doesNotMatch(r.failed, /minio/);
    assert.equal(f.report.status, 'failed');
  });

  it('does not run a report that has already finished', async () => {
    for (const status of ['succeeded', 'failed']) {
      f.report.status = status;
      assert.deepEqual(await sut().handle({ reportId: 'r1' }, ctx()), { skipped: true });
    }
    assert.deepEqual(await sut().handle({ reportId: 'nope' }, ctx()), { skipped: true });
    assert.deepEqual(f.state.statuses, []);
  });
});
