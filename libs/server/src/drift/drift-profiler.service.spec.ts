import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { AppError } from '../platform/errors.js';
import type { JobContext } from '../queue/job-handler.js';
import type { ArtifactStore, ModelInspector } from '../registry/ports.js';
import type { RegistryRepository } from '../registry/registry.repository.js';
import type { CategoricalProfile, NumericProfile, ReferenceProfile } from './drift-profile.js';
import { DriftProfilerService, MAX_OUTPUT_PROFILE_ROWS } from './drift-profiler.service.js';
import type { DriftRepository } from './drift.repository.js';

const ctx = (attempt = 1, maxAttempts = 3): JobContext => ({
  jobId: 'q',
  attempt,
  maxAttempts,
  updateProgress: async () => {},
});
const MODEL = Buffer.from('onnx bytes');
const SIGNATURE = {
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2], columns: ['a', 'b'] }],
  outputs: [
    { name: 'label', dtype: 'int64', shape: [-1] },
    { name: 'probs', dtype: 'float32', shape: [-1, 2] },
  ],
  classes: [0, 1],
  labelOutput: 'label',
  probabilityOutput: 'probs',
};
const reference = (n: number, names = ['a', 'b']) =>
  JSON.stringify({ feature_names: names, rows: Array.from({ length: n }, (_, i) => names.map(() => (i % 10) / 10)) });

type Upsert = { status: string; error?: string | null; schema?: any; profile?: ReferenceProfile; rows?: number };

/** One version, the blobs of its reference and model, the profile rows written, and the inspector's answers. */
function fakes() {
  const version: Record<string, unknown> = {
    id: 'v1',
    status: 'ready',
    number: 2,
    model: { name: 'iris' },
    referenceUri: 's3://refs/v1.json',
    signature: SIGNATURE,
    storageUri: 's3://models/v1.onnx',
    sha256: createHash('sha256').update(MODEL).digest('hex'),
    servingUri: null,
    servingSha256: null,
  };
  const blobs = new Map<string, Buffer>([
    ['s3://refs/v1.json', Buffer.from(reference(20))],
    ['s3://models/v1.onnx', MODEL],
  ]);
  const state = {
    upserts: [] as { key: unknown; data: Upsert }[],
    sampled: [] as Record<string, unknown>[][],
    inspectorError: null as Error | null,
    getError: null as Error | null,
    limit: 1_000_000,
  };
  const registry = {
    findVersionById: async (id: string) => (id === version.id ? version : null),
  } as unknown as RegistryRepository;
  const repo = {
    upsertProfile: async (key: unknown, data: Upsert) => void state.upserts.push({ key, data }),
  } as unknown as DriftRepository;
  const store = {
    get: async (uri: string) => {
      if (state.getError) throw state.getError;
      return Readable.from([blobs.get(uri)!]);
    },
    maxUploadBytes: () => state.limit,
  } as unknown as ArtifactStore;
  // A model answering 1 when a > 0.5: label per row, and the two classes' probabilities.
  const inspector = {
    runSamples: async (bytes: Buffer, _sig: unknown, rows: Record<string, number>[]) => {
      assert.deepEqual(bytes, MODEL);
      if (state.inspectorError) throw state.inspectorError;
      state.sampled.push(rows);
      return {
        label: rows.map((r) => [r.a! > 0.5 ? 1 : 0]),
        probs: rows.map((r) => (r.a! > 0.5 ? [0.1, 0.9] : [0.8, 0.2])),
      };
    },
  } as unknown as ModelInspector;
  return { version, blobs, state, registry, repo, store, inspector };
}

describe(DriftProfilerService.name, () => {
  let f: ReturnType<typeof fakes>;
  let sut: DriftProfilerService;
  beforeEach(() => {
    f = fakes();
    sut = new DriftProfilerService(f.registry, f.repo, f.store, f.inspector, pino({ level: 'silent' }));
  });
  const last = () => f.state.upserts.at(-1)!.data;
  const column = (cols: ReferenceProfile['features'], name: string) => cols.find((c) => c.name === name)!;

  it('profiles every feature and the outputs the model gives for the reference rows, and stores it ready', async () => {
    const r = await sut.handle({ versionId: 'v1' }, ctx());
    assert.deepEqual(r, { model: 'iris', version: 2, rows: 20, features: 2, outputs: 3 });
    assert.deepEqual(
      f.state.upserts.map((u) => [u.key, u.data.status]),
      [
        [{ versionId: 'v1', model: 'iris', number: 2 }, 'building'],
        [{ versionId: 'v1', model: 'iris', number: 2 }, 'ready'],
      ],
    );
    const { error, schema, profile, rows } = last();
    assert.equal(error, null);
    assert.equal(rows, 20);
    assert.deepEqual(schema.float32Features, ['a', 'b']);
    assert.deepEqual(
      profile!.features.map((c) => [c.name, c.kind, c.count]),
      [
        ['a', 'numeric', 20],
        ['b', 'numeric', 20],
      ],
    );
    // Outputs: the predicted label (12 of 20 rows have a <= 0.5) and one probability column per class.
    const prediction = column(profile!.outputs, 'prediction') as CategoricalProfile;
    assert.deepEqual(
      [prediction.categories, prediction.counts],
      [
        ['0', '1'],
        [12, 8, 0],
      ],
    );
    assert.deepEqual(
      profile!.outputs.map((c) => c.name),
      ['prediction', 'proba_0', 'proba_1'],
    );
    assert.equal((column(profile!.outputs, 'proba_1') as NumericProfile).max, 0.9);
    assert.deepEqual(f.state.sampled[0]![1], { a: 0.1, b: 0.1 });
  });

  it('rounds float32 features as the model is fed them, so served values fall in the same bins', async () => {
    await sut.handle({ versionId: 'v1' }, ctx());
    const a = column(last().profile!.features, 'a') as NumericProfile;
    assert.equal(a.max, Math.fround(0.9));
    assert.notEqual(a.max, 0.9);
  });

  it('runs the model on at most MAX_OUTPUT_PROFILE_ROWS rows while profiling features over all of them', async () => {
    f.blobs.set('s3://refs/v1.json', Buffer.from(reference(MAX_OUTPUT_PROFILE_ROWS + 5)));
    await sut.handle({ versionId: 'v1' }, ctx());
    assert.equal(f.state.sampled[0]!.length, MAX_OUTPUT_PROFILE_ROWS);
    assert.equal(last().rows, MAX_OUTPUT_PROFILE_ROWS + 5);
    assert.equal(last().profile!.features[0]!.count, MAX_OUTPUT_PROFILE_ROWS + 5);
  });

  it('skips a version that is not ready and writes nothing', async () => {
    f.version.status = 'pending';
    assert.deepEqual(await sut.handle({ versionId: 'v1' }, ctx()), { skipped: 'not a ready version' });
    assert.deepEqual(await sut.handle({ versionId: 'gone' }, ctx()), { skipped: 'not a ready version' });
    assert.deepEqual(f.state.upserts, []);
  });

  it('stores a failed profile saying why for a version registered without a reference dataset', async () => {
    f.version.referenceUri = null;
    assert.deepEqual(await sut.handle({ versionId: 'v1' }, ctx()), { failed: 'no reference' });
    assert.deepEqual(
      f.state.upserts.map((u) => u.data),
      [{ status: 'failed', error: 'The version was registered without a reference dataset' }],
    );
  });

  it('profiles a feature absent from the reference as all missing and says so in the ready profile', async () => {
    f.blobs.set('s3://refs/v1.json', Buffer.from(reference(10, ['a'])));
    await sut.handle({ versionId: 'v1' }, ctx());
    assert.equal(last().status, 'ready');
    assert.equal(last().error, 'Not in the reference dataset (profiled as all missing): b');
    const b = column(last().profile!.features, 'b') as NumericProfile;
    assert.deepEqual([b.count, b.missing], [0, 10]);
  });

  it('fails at once, without a retry, for a reference with none of the features, bad JSON or the wrong shape', async () => {
    const cases: [string, RegExp][] = [
      [reference(5, ['p', 'q']), /^The reference dataset has none of the model's features \(a, b…\)$/],
      ['{"feature_names": ["a"], "rows": [', /^The profile could not be built: /],
      [JSON.stringify({ feature_names: ['a'], rows: [] }), /^The reference dataset is not shaped like reference.json/],
    ];
    for (const [text, reason] of cases) {
      f.state.upserts.length = 0;
      f.blobs.set('s3://refs/v1.json', Buffer.from(text));
      const r = (await sut.handle({ versionId: 'v1' }, ctx(1, 3))) as { failed: string };
      assert.match(r.failed, reason);
      assert.deepEqual(
        f.state.upserts.map((u) => u.data.status),
        ['building', 'failed'],
      );
      assert.equal(last().error, r.failed);
      assert.deepEqual(last().schema.features.length, 2);
    }
  });

  it('fails for a reference over the upload limit', async () => {
    f.state.limit = 10;
    const r = (await sut.handle({ versionId: 'v1' }, ctx())) as { failed: string };
    assert.equal(r.failed, 'The reference dataset is larger than the 10-byte limit');
    assert.equal(last().status, 'failed');
  });

  it('keeps the features when the model refuses the reference rows, and says outputs are not monitored', async () => {
    f.state.inspectorError = new AppError('VALIDATION_FAILED', 'Input x wants 3 columns');
    const r = await sut.handle({ versionId: 'v1' }, ctx());
    assert.deepEqual(r, { model: 'iris', version: 2, rows: 20, features: 2, outputs: 0 });
    assert.equal(last().status, 'ready');
    assert.equal(last().error, 'Outputs are not monitored: Input x wants 3 columns');
    assert.deepEqual(last().profile!.outputs, []);
    assert.deepEqual(last().schema.outputs, []);
  });

  it('refuses a model artifact that does not match its checksum: retried, then failed without the storage uri', async () => {
    f.blobs.set('s3://models/v1.onnx', Buffer.from('swapped'));
    await assert.rejects(
      sut.handle({ versionId: 'v1' }, ctx(1, 3)),
      (e) => e instanceof AppError && e.code === 'INTERNAL',
    );
    assert.deepEqual(
      f.state.upserts.map((u) => u.data.status),
      ['building'],
    );
    const r = await sut.handle({ versionId: 'v1' }, ctx(3, 3));
    assert.deepEqual(r, { failed: 'The stored artifact <url> does not match its checksum' });
    assert.equal(last().status, 'failed');
    assert.deepEqual(f.state.sampled, []);
  });

  it('retries a storage outage and, on the last attempt, stores a reason without its internals', async () => {
    f.state.getError = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:9000'), { code: 'ECONNREFUSED' });
    await assert.rejects(sut.handle({ versionId: 'v1' }, ctx(2, 3)), /ECONNREFUSED/);
    const r = (await sut.handle({ versionId: 'v1' }, ctx(3, 3))) as { failed: string };
    assert.equal(
      r.failed,
      'The profile could not be built: an internal error (storage, database or network); the details are in the server log',
    );
    assert.equal(last().error, r.failed);
  });
});
