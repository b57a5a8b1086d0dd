import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { loadWorkerConfig } from '@modelyard/config';
import type { TSignature } from '@modelyard/contracts';
import { integrationEnv, uniqueId } from '@modelyard/testing';
import { ServerCoreModule } from '../server-core.module.js';
import { createLogger } from '../platform/logger.js';
import { systemIn } from '../auth/principal.js';
import { DEFAULT_PROJECT_REF } from '../tenancy/model-key.js';
import { PrismaService } from '../db/prisma.service.js';
import { asJson } from '../db/json.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { RegistryService } from '../registry/registry.service.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { DeploymentGuardService } from '../deployments/deployment-guard.service.js';
import { PredictionLogRepository } from '../predictions/prediction-log.repository.js';
import { FeedbackService } from './feedback.service.js';
import { PerformanceService } from './performance.service.js';

const SIGNATURE: TSignature = {
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 1] }],
  outputs: [
    { name: 'label', dtype: 'int64', shape: [-1] },
    { name: 'probabilities', dtype: 'float32', shape: [-1, 2] },
  ],
  classes: [0, 1],
  labelOutput: 'label',
  probabilityOutput: 'probabilities',
};
const CTX = { jobId: 'q', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };

/**
 * Ground truth on real Postgres: labels stored by key (last wins), joined to logged rows by prediction id and by
 * entity id in SQL, and a judged pilot promoted by the worker's guard with its events committed and delivered.
 * Versions are made as rows (ready, with a signature): no model runs here, the log rows say what they answered.
 */

/** The system in the default project, where the test's models live. */
const SYSTEM = systemIn(DEFAULT_PROJECT_REF);
describe('ground truth and judged pilots (real Postgres)', () => {
  let ctx: INestApplicationContext;
  let db: PrismaService;
  let model: string;
  let modelId: string;

  before(async () => {
    const config = loadWorkerConfig(integrationEnv({}));
    ctx = await NestFactory.createApplicationContext(
      ServerCoreModule.forRoot({ config, logger: createLogger(config.log, 'feedback-test') }),
      { logger: false },
    );
    db = ctx.get(PrismaService);
    model = uniqueId('fb-int');
    await ctx
      .get(RegistryService)
      .createModel(SYSTEM, { name: model, description: '', tags: {}, requiresApproval: false });
    const m = (await ctx.get(RegistryRepository).findModel(model))!;
    modelId = m.id;
    for (const [number, stage] of [
      [1, 'Production'],
      [2, 'None'],
    ] as const) {
      await db.client.modelVersion.create({
        data: {
          modelId,
          number,
          status: 'ready',
          stage,
          storageBackend: 'local',
          storageUri: `file:///nowhere/${model}/${number}.onnx`,
          ownedArtifact: false,
          createdByKind: 'system',
          signature: asJson(SIGNATURE),
        },
      });
    }
    await db.client.registeredModel.update({ where: { id: modelId }, data: { nextVersion: 3 } });
  });
  after(async () => {
    await ctx.close();
  });

  /** n logged one-row requests of a version and role, each predicting `label`; returns their prediction ids. */
  async function logged(version: number, role: string, n: number, label: number, entity?: (i: number) => string) {
    const ids = Array.from({ length: n }, () => randomUUID());
    await ctx.get(PredictionLogRepository).insertChunk(
      randomUUID(),
      ids.map((predictionId, i) => ({
        model,
        version,
        role,
        silent: role === 'silent',
        at: new Date(),
        features: asJson([{ x: i }]),
        outputs: asJson([{ label, probabilities: label ? [0.2, 0.8] : [0.8, 0.2] }]),
        latencyMs: 1,
        predictionId,
        entityIds: entity ? [entity(i)] : [],
        callerGroups: [],
      })),
    );
    return ids;
  }

  it('stores labels by key, the last one winning, and joins them by prediction id and by entity id', async () => {
    const ids = await logged(1, 'production', 4, 1, (i) => `${model}-e${i}`);
    const fb = ctx.get(FeedbackService);
    const first = await fb.submit(
      SYSTEM,
      model,
      { labels: ids.map((predictionId) => ({ predictionId, label: 0 })) },
      undefined,
    );
    assert.deepEqual(first, { received: 4, stored: 4, replaced: 0, duplicates: 0, matched: 4 });
    // Two of them corrected (the second correction of one in the same upload wins), one by entity id.
    const second = await fb.submit(
      SYSTEM,
      model,
      `predictionId,entityId,label\n${ids[0]},,0\n${ids[0]},,1\n${ids[1]},,1\n,${model}-e2,1\n,nobody,1`,
      'text/csv',
    );
    assert.deepEqual(second, { received: 5, stored: 2, replaced: 2, duplicates: 1, matched: 3 });
    assert.equal((await db.client.groundTruth.findFirst({ where: { modelId, predictionId: ids[0] } }))!.updates, 1);
    const report = await ctx.get(PerformanceService).report(SYSTEM, model, {});
    const prod = report.byVersion.find((s) => s.role === 'production')!;
    // Rows 0 and 1 labelled 1 by id (right); row 2 labelled 0 by id and 1 by entity: the id's label wins (wrong);
    // row 3 labelled 0 (wrong).
    assert.deepEqual([prod.predictions, prod.labelled, prod.coverage, prod.accuracy], [4, 4, 1, 0.5]);
  });

  it('promotes a judged pilot that is better, in one transaction with deployment.promoted, delivered at once', async () => {
    await ctx.get(DeploymentsService).put(SYSTEM, model, {
      config: {
        production: { mode: 'stage' },
        pilots: [
          {
            version: 2,
            groups: [],
            percentage: 10,
            judge: {
              metric: 'accuracy',
              minLabels: 30,
              confidence: 0.95,
              windowMinutes: 60,
              promote: true,
              rollback: true,
            },
          },
        ],
        silent: [],
      },
      comment: 'judged pilot',
    });
    const pilotIds = await logged(2, 'pilot', 40, 1);
    const prodIds = await logged(1, 'production', 40, 1);
    const labels = [
      ...pilotIds.map((predictionId, i) => ({ predictionId, label: i < 38 ? 1 : 0 })),
      ...prodIds.map((predictionId, i) => ({ predictionId, label: i < 20 ? 1 : 0 })),
    ];
    await ctx.get(FeedbackService).submit(SYSTEM, model, { labels }, undefined);
    const r = await ctx.get(DeploymentGuardService).handle({}, CTX);
    assert.deepEqual(
      r.promoted.map((p) => [p.model, p.version]),
      [[model, 2]],
    );
    assert.equal((await ctx.get(RegistryRepository).findVersion(model, 2))!.stage, 'Production');
    const audit = await db.client.auditLog.findMany({
      where: { action: 'deployment.promoted', summary: { path: ['model'], equals: model } },
    });
    assert.equal(audit.length, 1, 'audited before handle() returned');
    assert.match(
      String((audit[0]!.summary as { reason: string }).reason),
      /two-proportion z test\) on 40 and \d+ labelled/,
    );
  });
});
