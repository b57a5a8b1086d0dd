import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { recordedEvents } from '../events/events.test-support.js';
import { AppError } from '../platform/errors.js';
import type { JobContext } from '../queue/job-handler.js';
import type { ArtifactStore, InspectedModel, ModelInspector } from './ports.js';
import { RegistryValidationService } from './registry-validation.service.js';
import type { RegistryRepository } from './registry.repository.js';

const ID = '11111111-1111-4111-8111-111111111111';
const MODEL = Buffer.from('pretend this is an ONNX model');
const SHA = createHash('sha256').update(MODEL).digest('hex');
const OWNED = 'file:///data/models/iris/v1/model.onnx';
const REFERENCE = 'file:///data/models/iris/v1/reference.csv';
const SIGNATURE = { inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4] }], outputs: [] };
const INTERNAL = 'an internal error (storage, database or network); the details are in the server log';
const ctx = (attempt = 1, maxAttempts = 3): JobContext => ({
  jobId: 'q',
  attempt,
  maxAttempts,
  updateProgress: async () => {},
});

type Row = Record<string, unknown> & { id: string; status: string; storageUri: string };

/** A version row as findVersionById reads it: pending, an owned artifact with a reference dataset. */
const pending = (over: Partial<Row> = {}): Row => ({
  id: ID,
  modelId: 'm1',
  model: { name: 'iris' },
  aliases: [],
  number: 1,
  status: 'pending',
  failureReason: null,
  stage: 'None',
  description: '',
  storageBackend: 'local',
  storageUri: OWNED,
  servingUri: null,
  servingSha256: null,
  ownedArtifact: true,
  sha256: SHA,
  sizeBytes: null,
  signature: null,
  signatureOverride: null,
  metadata: { team: 'a' },
  tags: {},
  metrics: {},
  lineage: {},
  sampleInput: [[1, 2, 3, 4]],
  sampleOutput: null,
  referenceUri: REFERENCE,
  createdByKind: 'user',
  createdById: 'u1',
  createdByName: 'Ada',
  createdByKeyId: null,
  createdAt: new Date(0),
  readyAt: null,
  ...over,
});

function fakes(row: Row) {
  const blobs = new Map<string, Buffer>([
    [OWNED, MODEL],
    ['s3://theirs/iris.onnx', MODEL],
    [REFERENCE, Buffer.from('a,b\n1,2\n')],
  ]);
  const history: Record<string, unknown>[] = [];
  const inspected: { override: unknown; samples: unknown }[] = [];
  const knobs = {
    getError: null as Error | null,
    inspect: { signature: SIGNATURE, warnings: [], sampleOutput: { y: [1] } } as InspectedModel | Error,
    maxBytes: 1_000_000,
  };
  const repo = {
    findVersionById: async (id: string) => (id === row.id ? structuredClone(row) : null),
    settlePending: async (_id: string, data: Record<string, unknown>) => {
      if (row.status !== 'pending') return false;
      Object.assign(row, data);
      return true;
    },
    addHistory: async (modelId: string, actor: unknown, h: Record<string, unknown>) =>
      void history.push({ modelId, actor, ...h }),
  } as unknown as RegistryRepository;
  const store = {
    get: async (uri: string) => {
      if (knobs.getError) throw knobs.getError;
      return Readable.from([blobs.get(uri)!]);
    },
    put: async (backend: string, key: string, body: Readable) => {
      const parts: Buffer[] = [];
      for await (const c of body) parts.push(c as Buffer);
      const uri = backend === 'local' ? `file:///data/${key}` : `s3://ours/${key}`;
      blobs.set(uri, Buffer.concat(parts));
      return {
        uri,
        sizeBytes: blobs.get(uri)!.length,
        sha256: createHash('sha256').update(blobs.get(uri)!).digest('hex'),
      };
    },
    delete: async (uri: string) => void blobs.delete(uri),
    maxUploadBytes: () => knobs.maxBytes,
    defaultBackend: () => 's3',
    locate: (uri: string) =>
      uri.startsWith('s3://ours/')
        ? { backend: 's3', key: uri.slice('s3://ours/'.length) }
        : { backend: 'local', key: uri.slice('file:///data/'.length) },
  } as unknown as ArtifactStore;
  const inspector = {
    inspect: async (_b: Buffer, override?: unknown, samples?: unknown) => {
      inspected.push({ override, samples });
      if (knobs.inspect instanceof Error) throw knobs.inspect;
      return knobs.inspect;
    },
  } as unknown as ModelInspector;
  return { row, blobs, history, inspected, knobs, repo, store, inspector };
}

describe(RegistryValidationService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  const sut = () => new RegistryValidationService(f.repo, events, f.store, f.inspector, pino({ level: 'silent' }));
  beforeEach(() => {
    events = recordedEvents();
  });

  it('makes a pending version ready: signature, checksum, size, sample output, history and event', async () => {
    f = fakes(pending({ signatureOverride: { classes: [0, 1] } }));
    f.knobs.inspect = { signature: SIGNATURE, warnings: ['opset 9 is old'], sampleOutput: { y: [1] } };
    const r = (await sut().handle({ versionId: ID }, ctx())) as { status: string; storage: { servingUri: string } };
    assert.deepEqual([r.status, r.storage.servingUri], ['ready', OWNED]);
    assert.deepEqual(f.inspected, [{ override: { classes: [0, 1] }, samples: [[1, 2, 3, 4]] }]);
    const { row } = f;
    assert.deepEqual(
      [row.status, row.failureReason, row.signature, row.sha256, row.sizeBytes, row.sampleOutput, row.servingSha256],
      ['ready', null, SIGNATURE, SHA, BigInt(MODEL.length), { y: [1] }, null],
    );
    assert.deepEqual(row.metadata, { team: 'a', validationWarnings: ['opset 9 is old'] });
    assert.ok(row.readyAt instanceof Date);
    assert.deepEqual(
      f.history.map((h) => [h.versionNumber, h.from, h.to]),
      [[1, 'pending', 'ready']],
    );
    assert.deepEqual(
      events.recorded.map((e) => [e.type, e.objectId, e.data]),
      [['version.ready', ID, { model: 'iris', version: 1, sha256: SHA, signature: SIGNATURE, hasReference: true }]],
    );
  });

  it('stores a rewritten serving copy beside an owned artifact, else in the default backend; checksummed', async () => {
    const served = Buffer.from('the model without its ZipMap');
    const servedSha = createHash('sha256').update(served).digest('hex');
    f = fakes(pending());
    f.knobs.inspect = { signature: SIGNATURE, warnings: [], servingBytes: served };
    await sut().handle({ versionId: ID }, ctx());
    assert.deepEqual([f.row.servingUri, f.row.servingSha256], ['file:///data/models/iris/v1/serving.onnx', servedSha]);
    assert.deepEqual(f.blobs.get('file:///data/models/iris/v1/serving.onnx'), served);

    f = fakes(pending({ ownedArtifact: false, storageBackend: 's3', storageUri: 's3://theirs/iris.onnx' }));
    f.knobs.inspect = { signature: SIGNATURE, warnings: [], servingBytes: served };
    await sut().handle({ versionId: ID }, ctx());
    assert.equal(f.row.servingUri, `s3://ours/models/iris/${ID}/serving.onnx`);
  });

  it('fails a model the inspector refuses at once, removing our blobs, with history and version.failed', async () => {
    f = fakes(pending());
    f.knobs.inspect = new AppError('VALIDATION_FAILED', 'Not an ONNX model: bad protobuf');
    assert.deepEqual(await sut().handle({ versionId: ID }, ctx(1, 3)), { failed: 'Not an ONNX model: bad protobuf' });
    assert.deepEqual(
      [f.row.status, f.row.failureReason, f.row.referenceUri],
      ['failed', 'Not an ONNX model: bad protobuf', null],
    );
    assert.deepEqual([f.blobs.has(OWNED), f.blobs.has(REFERENCE)], [false, false]);
    assert.deepEqual(
      f.history.map((h) => [h.from, h.to, h.comment]),
      [['pending', 'failed', 'Not an ONNX model: bad protobuf']],
    );
    assert.deepEqual(
      events.recorded.map((e) => [e.type, e.data]),
      [['version.failed', { model: 'iris', version: 1, reason: 'Not an ONNX model: bad protobuf' }]],
    );
  });

  it('leaves an artifact it does not own in place when the version fails', async () => {
    f = fakes(pending({ ownedArtifact: false, storageUri: 's3://theirs/iris.onnx' }));
    f.knobs.inspect = new AppError('VALIDATION_FAILED', 'no');
    await sut().handle({ versionId: ID }, ctx());
    assert.deepEqual([f.row.status, f.blobs.has('s3://theirs/iris.onnx')], ['failed', true]);
  });

  it('fails an artifact whose bytes do not match the checksum taken at upload, or over the size limit', async () => {
    f = fakes(pending({ sha256: 'a'.repeat(64) }));
    const r = (await sut().handle({ versionId: ID }, ctx())) as { failed: string };
    assert.match(r.failed, new RegExp(`^Checksum mismatch: stored a{64}, read ${SHA}$`));
    assert.deepEqual(f.inspected, []);

    f = fakes(pending());
    f.knobs.maxBytes = 10;
    const big = (await sut().handle({ versionId: ID }, ctx())) as { failed: string };
    assert.equal(big.failed, 'The artifact is larger than the 10-byte limit');
    assert.equal(f.row.status, 'failed');
  });

  it('rethrows a storage outage for a retry; fails the version on the last attempt, without the details', async () => {
    f = fakes(pending());
    f.knobs.getError = Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:9000'), { code: 'ECONNREFUSED' });
    await assert.rejects(sut().handle({ versionId: ID }, ctx(1, 3)), /ECONNREFUSED/);
    assert.deepEqual([f.row.status, events.recorded], ['pending', []]);
    const r = (await sut().handle({ versionId: ID }, ctx(3, 3))) as { failed: string };
    assert.equal(r.failed, `Validation could not complete: ${INTERNAL}`);
    assert.equal(f.row.status, 'failed');
  });

  it('does nothing for a version no longer pending, or one the stuck-version sweeper failed meanwhile', async () => {
    f = fakes(pending({ status: 'ready' }));
    assert.deepEqual(await sut().handle({ versionId: ID }, ctx()), { skipped: true });
    assert.deepEqual(f.inspected, []);

    f = fakes(pending());
    const inspect = f.inspector.inspect.bind(f.inspector);
    f.inspector.inspect = async (...args) => {
      const r = await inspect(...args);
      f.row.status = 'failed';
      return r;
    };
    assert.deepEqual(await sut().handle({ versionId: ID }, ctx()), { skipped: 'no longer pending' });
    assert.deepEqual([f.history, events.recorded], [[], []]);
  });

  it('removes the serving copy it wrote when the version fails after it, or was failed meanwhile', async () => {
    const copy = `s3://ours/models/iris/${ID}/serving.onnx`;
    const theirs = { ownedArtifact: false, storageBackend: 's3', storageUri: 's3://theirs/iris.onnx' };
    const served = { signature: SIGNATURE, warnings: [], servingBytes: Buffer.from('rewritten') };
    // The database refuses the verdict on the last attempt: the version fails, and no copy is left behind.
    f = fakes(pending(theirs));
    f.knobs.inspect = served;
    f.repo.settlePending = async (_id: string, data: Record<string, unknown>) => {
      if (data.status === 'ready') throw new Error('connection reset');
      Object.assign(f.row, data);
      return true;
    };
    const r = (await sut().handle({ versionId: ID }, ctx(3, 3))) as { failed: string };
    assert.match(r.failed, /^Validation could not complete/);
    assert.deepEqual([f.row.status, f.blobs.has(copy), f.blobs.has('s3://theirs/iris.onnx')], ['failed', false, true]);

    // The stuck-version sweeper failed it while the copy was being written.
    f = fakes(pending(theirs));
    f.knobs.inspect = served;
    const put = f.store.put.bind(f.store);
    f.store.put = async (...args) => {
      const r = await put(...args);
      f.row.status = 'failed';
      return r;
    };
    assert.deepEqual(await sut().handle({ versionId: ID }, ctx()), { skipped: 'no longer pending' });
    assert.equal(f.blobs.has(copy), false);
  });
});
