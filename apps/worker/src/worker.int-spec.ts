import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { QueueEvents } from 'bullmq';
import { loadWorkerConfig } from '@modelyard/config';
import {
  DEFAULT_PROJECT_ID,
  bullPrefix,
  createLogger,
  createPrismaClient,
  redisOptions,
  JobProducer,
  MaintenanceService,
} from '@modelyard/server';
import { integrationEnv, TEST_PASSWORD, uniqueEmail } from '@modelyard/testing';
import { WorkerModule } from './worker.module.js';

describe('worker (real Redis + Postgres)', () => {
  let ctx: INestApplicationContext;
  const config = loadWorkerConfig(integrationEnv());
  const db = createPrismaClient(config.db.url, 2);

  before(async () => {
    ctx = await NestFactory.createApplicationContext(
      WorkerModule.forRoot(config, createLogger(config.log, 'worker-test')),
      { logger: false },
    );
    await ctx.init();
  });
  after(async () => {
    await ctx.close();
    await db.$disconnect();
  });

  it('runs maintenance.cleanup from the queue: expired sessions go, live ones stay', async () => {
    const user = await db.user.create({ data: { email: uniqueEmail(), name: 'w', passwordHash: TEST_PASSWORD } });
    const expired = await db.session.create({
      data: { tokenHash: `exp-${user.id}`, userId: user.id, expiresAt: new Date(Date.now() - 1000) },
    });
    const live = await db.session.create({
      data: { tokenHash: `live-${user.id}`, userId: user.id, expiresAt: new Date(Date.now() + 3600_000) },
    });

    const producer = ctx.get(JobProducer);
    const events = new QueueEvents('maintenance', {
      connection: redisOptions(config.redis.url),
      prefix: bullPrefix(config),
    });
    await events.waitUntilReady();
    try {
      const job = await producer.enqueue('maintenance.cleanup', { reason: 'manual' });
      // The count may be 0: the worker's own schedule runs at boot and may have removed the row first.
      const result = (await job.waitUntilFinished(events, 15_000)) as { expiredSessions: number };
      assert.equal(typeof result.expiredSessions, 'number');
    } finally {
      await events.close();
    }
    assert.equal(await db.session.findUnique({ where: { id: expired.id } }), null);
    assert.ok(await db.session.findUnique({ where: { id: live.id } }));
  });

  it('deletes drift windows and resolved alerts past DRIFT_RETENTION_DAYS, keeping recent ones and firing alerts', async () => {
    const day = 86_400_000;
    const old = new Date(Date.now() - (config.worker.driftRetentionDays + 1) * day);
    const recent = new Date(Date.now() - day);
    const name = `retention-${uniqueEmail().split('@')[0]!.toLowerCase()}`;
    const model = await db.registeredModel.create({ data: { name, ownerKind: 'user', projectId: DEFAULT_PROJECT_ID } });
    const version = await db.modelVersion.create({
      data: {
        modelId: model.id,
        number: 1,
        storageBackend: 'local',
        storageUri: 'file:///x',
        ownedArtifact: false,
        createdByKind: 'user',
      },
    });
    const window = (start: Date) =>
      db.driftWindowRow.create({
        data: { versionId: version.id, model: name, number: 1, start, minutes: 60, rows: 10, window: {} },
      });
    await window(old);
    await window(recent);
    const alert = (state: string, firedAt: Date, resolvedAt: Date | null, ruleId: string) =>
      db.alert.create({
        data: {
          modelId: model.id,
          modelName: name,
          version: 1,
          ruleId,
          kind: 'drift_share',
          state,
          message: 'm',
          firedAt,
          resolvedAt,
          openKey: state === 'firing' ? `${model.id}:${ruleId}:1` : null,
        },
      });
    const oldResolved = await alert('resolved', old, old, 'a');
    const recentResolved = await alert('resolved', old, recent, 'b');
    const oldFiring = await alert('firing', old, null, 'c');

    const result = await ctx.get(MaintenanceService).handle({ reason: 'manual' }, {} as never);
    assert.ok(result.driftWindows >= 1 && result.resolvedAlerts >= 1, JSON.stringify(result));
    const starts = (await db.driftWindowRow.findMany({ where: { versionId: version.id } })).map((w) =>
      w.start.getTime(),
    );
    assert.deepEqual(starts, [recent.getTime()]);
    const left = (await db.alert.findMany({ where: { modelId: model.id } })).map((a) => a.id).sort();
    assert.deepEqual(left, [recentResolved.id, oldFiring.id].sort());
    assert.ok(!left.includes(oldResolved.id));
    await db.registeredModel.delete({ where: { id: model.id } });
  });

  it('fails a job with an invalid payload without retrying it', async () => {
    const producer = ctx.get(JobProducer);
    const events = new QueueEvents('maintenance', {
      connection: redisOptions(config.redis.url),
      prefix: bullPrefix(config),
    });
    await events.waitUntilReady();
    try {
      // Bypass the typed producer on purpose: this is what a stale or foreign producer could put on the queue.
      const job = await producer
        .queue('maintenance')
        .add('maintenance.cleanup', { reason: 'because' }, { attempts: 5 });
      await assert.rejects(job.waitUntilFinished(events, 15_000), /Invalid payload for maintenance.cleanup/);
      const stored = await producer.queue('maintenance').getJob(job.id!);
      assert.equal(stored?.attemptsMade, 1);
    } finally {
      await events.close();
    }
  });

  it('has scheduled the hourly cleanup', async () => {
    const schedulers = await ctx.get(JobProducer).queue('maintenance').getJobSchedulers();
    assert.ok(schedulers.some((s) => s.key === 'maintenance-hourly' || s.id === 'maintenance-hourly'));
  });
});
