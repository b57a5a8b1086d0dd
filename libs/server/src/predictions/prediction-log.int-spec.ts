import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ServedVersion, Tensor } from '../engine/index.js';
import { loadWorkerConfig } from '@modelyard/config';
import { integrationEnv, uniqueId } from '@modelyard/testing';
import { PrismaService } from '../db/prisma.service.js';
import { createLogger } from '../platform/logger.js';
import { RedisService } from '../platform/redis.service.js';
import { PredictionLogShipper } from './prediction-log.js';
import { PredictionLogRepository } from './prediction-log.repository.js';
import { CLAIM_STALE_MS, PredictionIngestService, rowOf } from './prediction-ingest.service.js';

describe('prediction log: api -> Redis -> worker -> Postgres', () => {
  // A Redis prefix of its own: the claims these tests leave behind and take over are theirs alone.
  const cfg = loadWorkerConfig({ ...integrationEnv(), REDIS_PREFIX: uniqueId('predlog') });
  const log = createLogger(cfg.log, 'predlog-test');
  const redis = new RedisService(cfg);
  const db = new PrismaService(cfg);
  const repo = new PredictionLogRepository(db);
  const shipper = new PredictionLogShipper(redis, log);
  const ingest = new PredictionIngestService(redis, repo, log);
  before(() => db.pool.$connect());
  after(async () => {
    await redis.onModuleDestroy();
    await db.pool.$disconnect();
  });

  const model = uniqueId('logged');
  const sv = {
    model,
    version: 2,
    signature: { inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2], columns: ['a', 'b'] }], outputs: [] },
  } as unknown as ServedVersion;
  const feeds = { x: new Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2]) };
  const outputs = {
    label: new Tensor('int64', BigInt64Array.from([0n, 1n]), [2]),
    probabilities: new Tensor('float32', Float32Array.from([0.75, 0.25, 0.25, 0.75]), [2, 2]),
  };

  it('keeps every sampled request as feature records and outputs per row', async () => {
    for (let i = 0; i < 5; i++) shipper.maybeLog(1, sv, 'production', false, feeds, outputs, 0.3);
    shipper.maybeLog(1, sv, 'silent', true, feeds, outputs, 0.4);
    shipper.maybeLog(0, sv, 'production', false, feeds, outputs, 0.3); // rate 0: never
    await shipper.flush();
    const r = await ingest.handle({}, { jobId: 't', attempt: 1, maxAttempts: 1, updateProgress: async () => {} });
    assert.ok(r.stored >= 6);
    const rows = await repo.recent(model, 2, 100);
    assert.equal(rows.length, 6);
    assert.deepEqual(rows[0]!.features, [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ]);
    assert.deepEqual(rows[0]!.outputs, [
      { label: 0, probabilities: [0.75, 0.25] },
      { label: 1, probabilities: [0.25, 0.75] },
    ]);
    assert.equal(rows.filter((x) => x.silent).length, 1);
    // Drained: a second run finds nothing of ours.
    await ingest.handle({}, { jobId: 't', attempt: 1, maxAttempts: 1, updateProgress: async () => {} });
    assert.equal((await repo.recent(model, 2, 100)).length, 6);
  });

  it('stores every field of an entry as it came: time to the millisecond, ids, entities, groups, silent', async () => {
    const own = uniqueId('fields');
    const at = new Date('2026-12-06T19:31:36.559Z');
    const predictionId = '0b6f1c1e-6a8e-4c1e-9d2a-3f4b5c6d7e8f';
    const entry = (silent: boolean | undefined) =>
      JSON.stringify({
        model: own,
        version: 3,
        role: silent ? 'silent' : 'pilot',
        silent,
        at: at.toISOString(),
        features: [{ a: 0.1, b: -2.5e-7 }],
        outputs: [{ label: 'x"y', probabilities: [0.5, 0.5] }],
        latencyMs: 0.125,
        predictionId,
        entityIds: ['e-1', 'ümlaut,comma'],
        callerGroups: ['team "a"'],
      });
    assert.equal(
      await repo.insertChunk(
        randomUUID(),
        [entry(true), entry(undefined)].map((e) => rowOf(e)!),
      ),
      true,
    );
    const rows = await db.client.predictionLog.findMany({ where: { model: own }, orderBy: { seq: 'asc' } });
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.equal(r.version, 3);
      assert.equal(r.at.toISOString(), at.toISOString());
      assert.deepEqual(r.features, [{ a: 0.1, b: -2.5e-7 }]);
      assert.deepEqual(r.outputs, [{ label: 'x"y', probabilities: [0.5, 0.5] }]);
      assert.equal(r.latencyMs, 0.125);
      assert.equal(r.predictionId, predictionId);
      assert.deepEqual(r.entityIds, ['e-1', 'ümlaut,comma']);
      assert.deepEqual(r.callerGroups, ['team "a"']);
    }
    // An entry without `silent` (older apis) is not a silent row.
    assert.deepEqual(
      rows.map((r) => [r.role, r.silent]),
      [
        ['silent', true],
        ['pilot', false],
      ],
    );
  });

  it('refuses an entry whose latency is not a finite number (it would fail its whole chunk)', () => {
    const ok = { model: 'm', version: 1, role: 'production', at: new Date().toISOString(), features: [], outputs: [] };
    assert.notEqual(rowOf(JSON.stringify({ ...ok, latencyMs: 1 })), null);
    assert.equal(rowOf(JSON.stringify({ ...ok, latencyMs: null })), null);
    assert.equal(rowOf(JSON.stringify({ ...ok, latencyMs: '1' })), null);
  });

  const CTX = { jobId: 't', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };
  const claims = () => redis.client.zrange(redis.key('prediction-log', 'claims'), 0, -1);
  /** `n` sampled requests of a model of its own, shipped to the Redis list. */
  async function shipped(n: number) {
    const own = { ...sv, model: uniqueId('crash') } as ServedVersion;
    for (let i = 0; i < n; i++) shipper.maybeLog(1, own, 'production', false, feeds, outputs, 0.3);
    await shipper.flush();
    return own.model;
  }
  /** What a worker that died holding its claims leaves: the claims, older than CLAIM_STALE_MS. */
  async function ageClaims() {
    for (const key of await claims())
      await redis.client.zadd(redis.key('prediction-log', 'claims'), Date.now() - CLAIM_STALE_MS - 1000, key);
  }

  it('loses nothing when a worker dies between claiming a chunk and storing it: the next run stores it once', async () => {
    const crashed = await shipped(5);
    const chunk = await ingest.claim(2000);
    assert.equal(chunk?.items.length, 5);
    // The worker dies here. Its entries are off the list but not lost; a run before the claim is stale leaves them.
    assert.deepEqual(await ingest.handle({}, CTX), { stored: 0, skipped: 0 });
    assert.equal((await repo.recent(crashed, 2, 100)).length, 0);
    await ageClaims();
    assert.deepEqual(await ingest.handle({}, CTX), { stored: 5, skipped: 0 });
    assert.equal((await repo.recent(crashed, 2, 100)).length, 5);
    assert.deepEqual(await claims(), []);
    await ingest.handle({}, CTX);
    assert.equal((await repo.recent(crashed, 2, 100)).length, 5);
  });

  it('stores a chunk once when its worker died after committing it and before releasing the claim', async () => {
    const crashed = await shipped(4);
    const chunk = (await ingest.claim(2000))!;
    // The dead worker's transaction committed; the claim release never ran.
    assert.equal(
      await repo.insertChunk(
        chunk.id,
        chunk.items.map((i) => rowOf(i)!),
      ),
      true,
    );
    await ageClaims();
    assert.deepEqual(await ingest.handle({}, CTX), { stored: 0, skipped: 0 });
    assert.equal((await repo.recent(crashed, 2, 100)).length, 4);
    assert.deepEqual(await claims(), []);
  });

  it("stores a dead worker's chunk once when two workers take it over at the same time", async () => {
    const crashed = await shipped(3);
    await ingest.claim(2000);
    await ageClaims();
    const other = new PredictionIngestService(redis, repo, log);
    const runs = await Promise.all([ingest.handle({}, CTX), other.handle({}, CTX)]);
    assert.equal(runs[0].stored + runs[1].stored, 3);
    assert.equal((await repo.recent(crashed, 2, 100)).length, 3);
    assert.deepEqual(await claims(), []);
  });

  it('samples at roughly the configured rate', () => {
    const before = (shipper as unknown as { batch: string[] }).batch.length;
    for (let i = 0; i < 4000; i++) shipper.maybeLog(0.05, sv, 'production', false, feeds, outputs, 0.1);
    const n = (shipper as unknown as { batch: string[] }).batch.length - before;
    assert.ok(n > 120 && n < 300, `sampled ${n} of 4000 at 5%`);
  });
});
