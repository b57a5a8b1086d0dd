import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadWorkerConfig } from '@modelyard/config';
import { integrationEnv, uniqueId } from '@modelyard/testing';
import { PrismaService } from '../db/prisma.service.js';
import { createLogger } from '../platform/logger.js';
import { SYSTEM } from '../auth/principal.js';
import { RollupsRepository } from './rollups.repository.js';
import { RollupsService } from './rollups.service.js';
import { DEFAULT_PROJECT_ID } from '../tenancy/model-key.js';

describe('metric rollups (real Postgres)', () => {
  const cfg = loadWorkerConfig(integrationEnv());
  const db = new PrismaService(cfg);
  const log = createLogger(cfg.log, 'rollups-test');
  // Two services = two api processes writing the same minute.
  const a = new RollupsService(new RollupsRepository(db), log);
  const b = new RollupsService(new RollupsRepository(db), log);
  before(() => db.pool.$connect());
  after(() => db.pool.$disconnect());

  it('adds the flushes of several processes into one row per minute, version and role', async () => {
    const model = uniqueId('rollup');
    const at = Date.parse('2026-11-23T10:00:30Z');
    for (let i = 0; i < 90; i++) a.observe(model, 1, 'production', 0.8, false, at);
    for (let i = 0; i < 10; i++) b.observe(model, 1, 'production', 60, i < 3, at);
    b.observe(model, 2, 'pilot', 3, false, at);
    await a.flush();
    await b.flush();
    a.observe(model, 1, 'production', 0.8, false, at + 10_000);
    await a.flush();
    const s = await a.series(SYSTEM, model, { from: '2026-11-23T09:59:00Z', to: '2026-11-23T10:05:00Z' });
    assert.equal(s.points.length, 2);
    const prod = s.points.find((p) => p.version === 1)!;
    assert.equal(prod.minute, '2026-11-23T10:00:00.000Z');
    assert.equal(prod.count, 101);
    assert.equal(prod.errors, 3);
    assert.ok(prod.p50Ms! <= 1, `p50 ${prod.p50Ms}`);
    assert.ok(prod.p99Ms! >= 50, `p99 ${prod.p99Ms}`);
    assert.equal(
      prod.buckets.reduce((x, y) => x + y, 0),
      101,
      'the histogram comes along, so minutes can be merged',
    );
    assert.equal(prod.buckets.length, s.bucketsMs.length + 1);
    assert.equal(s.points.find((p) => p.version === 2)!.role, 'pilot');
    const onlyV2 = await a.series(SYSTEM, model, {
      from: '2026-11-23T09:59:00Z',
      to: '2026-11-23T10:05:00Z',
      version: 2,
    });
    assert.deepEqual(
      onlyV2.points.map((p) => p.count),
      [1],
    );
  });

  it('refuses a backwards or too long range', async () => {
    await assert.rejects(
      a.series(SYSTEM, 'm', { from: '2026-11-23T10:00:00Z', to: '2026-11-23T09:00:00Z' }),
      /from <= to/,
    );
    await assert.rejects(
      a.series(SYSTEM, 'm', { from: '2026-01-01T00:00:00Z', to: '2026-11-23T09:00:00Z' }),
      /31 days/,
    );
  });
  it('answers an empty series for a model without traffic, and NOT_FOUND for a name no model has', async () => {
    const quiet = uniqueId('quiet');
    await db.client.registeredModel.create({
      data: { name: quiet, ownerKind: 'user', project: { connect: { id: DEFAULT_PROJECT_ID } } },
    });
    assert.deepEqual((await a.series(SYSTEM, quiet, {})).points, []);
    await assert.rejects(a.series(SYSTEM, uniqueId('typo'), {}), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'NOT_FOUND');
      return true;
    });
  });
});
