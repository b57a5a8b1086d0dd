import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { loadWorkerConfig } from '@modelyard/config';
import { integrationEnv, uniqueId } from '@modelyard/testing';
import type { Role, Scope } from '@modelyard/contracts';
import { ServerCoreModule } from '../server-core.module.js';
import { createLogger } from '../platform/logger.js';
import { AppError } from '../platform/errors.js';
import type { Principal } from '../auth/principal.js';
import { RegistryService } from './registry.service.js';
import { RegistryValidationService } from './registry-validation.service.js';
import { RegistrySweepService } from './registry-sweep.service.js';
import { PrismaService } from '../db/prisma.service.js';
import { ARTIFACT_STORE, type ArtifactStore } from './ports.js';
import { DEFAULT_PROJECT_REF } from '../tenancy/model-key.js';

const FIXTURES = path.resolve(process.cwd(), 'test/fixtures/models');
const iris = readFileSync(path.join(FIXTURES, 'iris_logreg/model.onnx'));
const irisSamples = JSON.parse(readFileSync(path.join(FIXTURES, 'iris_logreg/samples.json'), 'utf8'));
const irisReference = JSON.parse(readFileSync(path.join(FIXTURES, 'iris_logreg/reference.json'), 'utf8'));

const person = (role: Role, over: Partial<Principal> = {}): Principal => ({
  kind: 'user',
  id: crypto.randomUUID(),
  name: `${role}-${uniqueId()}`,
  email: null,
  project: DEFAULT_PROJECT_REF,
  role,
  platformAdmin: role === 'admin',
  groups: [],
  via: 'session',
  apiKeyId: null,
  scopes: null,
  modelAllowList: [],
  ip: '127.0.0.1',
  ...over,
});
const job = { jobId: 'test', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };
const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

describe('registry (real Postgres, Redis and local storage)', () => {
  let ctx: INestApplicationContext;
  let registry: RegistryService;
  let validation: RegistryValidationService;
  let store: ArtifactStore;
  const scientist = person('scientist');
  const approver = person('approver');
  const approver2 = person('approver');

  before(async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'modelyard-artifacts-'));
    const config = loadWorkerConfig(
      integrationEnv({ STORAGE_DEFAULT: 'local', STORAGE_LOCAL_ROOT: root, MAX_UPLOAD_BYTES: String(64 * 1024) }),
    );
    ctx = await NestFactory.createApplicationContext(
      ServerCoreModule.forRoot({ config, logger: createLogger(config.log, 'registry-test') }),
      { logger: false },
    );
    registry = ctx.get(RegistryService);
    validation = ctx.get(RegistryValidationService);
    store = ctx.get(ARTIFACT_STORE);
  });
  after(() => ctx.close());

  async function registered(name: string, bytes = iris, extra: Record<string, unknown> = {}) {
    const v = await registry.registerVersion(
      scientist,
      name,
      {
        description: '',
        tags: { team: 'ml' },
        metrics: { accuracy: 0.97 },
        metadata: {},
        lineage: { gitCommit: 'abc123' },
        ...extra,
      },
      { stream: Readable.from([bytes]) },
    );
    await validation.handle({ versionId: v.id }, job);
    return registry.getVersion(scientist, name, v.version);
  }

  it('registers an upload: pending, then ready with the signature read from the ONNX file', async () => {
    const name = uniqueId('iris');
    const v = await registered(name, iris, {
      sampleInput: irisSamples.input_data.float_input.slice(0, 3),
      reference: irisReference && { feature_names: irisReference.feature_names, rows: irisReference.rows },
    });
    assert.equal(v.status, 'ready', v.failureReason ?? '');
    assert.equal(v.version, 1);
    assert.equal(v.sha256, createHash('sha256').update(iris).digest('hex'));
    assert.equal(v.sizeBytes, iris.length);
    assert.equal(v.storage.owned, true);
    assert.equal(v.hasReference, true);
    const sig = v.signature as { inputs: { name: string; shape: number[]; columns?: string[] }[] };
    assert.equal(sig.inputs[0]!.name, 'float_input');
    assert.deepEqual(sig.inputs[0]!.shape, [-1, 4]);
    assert.deepEqual(sig.inputs[0]!.columns, irisSamples.inputs[0].columns);
    assert.ok(v.sampleOutput, 'sample outputs were stored');
    assert.deepEqual(v.lineage, { gitCommit: 'abc123' });
    assert.equal(v.createdBy.name, scientist.name);
    // The artifact is really in storage, byte for byte.
    const chunks: Buffer[] = [];
    for await (const c of await store.get(v.storage.uri)) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), iris);
  });

  it('numbers versions per model, one after another', async () => {
    const name = uniqueId('numbers');
    const a = await registered(name);
    const b = await registered(name);
    assert.deepEqual([a.version, b.version], [1, 2]);
  });

  it('fails a corrupt file with a clear reason and leaves no blob behind', async () => {
    const name = uniqueId('corrupt');
    const v = await registry.registerVersion(
      scientist,
      name,
      { description: '', tags: {}, metrics: {}, metadata: {}, lineage: {} },
      { stream: Readable.from([Buffer.from('this is not an onnx model at all')]) },
    );
    const uri = v.storage.uri;
    assert.ok(await store.stat(uri), 'the upload was stored while pending');
    await validation.handle({ versionId: v.id }, job);
    const failed = await registry.getVersion(scientist, name, v.version);
    assert.equal(failed.status, 'failed');
    assert.match(failed.failureReason!, /onnx|model/i);
    assert.equal(await store.stat(uri), null, 'the blob of a failed version is removed');
    await assert.rejects(
      registry.transition(approver, name, v.version, { stage: 'Staging', comment: '', archivePrevious: true }),
      code('CONFLICT'),
    );
  });

  it('refuses an upload over MAX_UPLOAD_BYTES with 413 and keeps no row or blob', async () => {
    const name = uniqueId('big');
    await assert.rejects(
      registry.registerVersion(
        scientist,
        name,
        { description: '', tags: {}, metrics: {}, metadata: {}, lineage: {} },
        { stream: Readable.from([Buffer.alloc(128 * 1024)]) },
      ),
      code('PAYLOAD_TOO_LARGE'),
    );
    // Not even the model was created: a name becomes a model only with a stored artifact.
    await assert.rejects(registry.listVersions(scientist, name), code('NOT_FOUND'));
  });

  it('registers an artifact already in storage by URI and never deletes what it does not own', async () => {
    const name = uniqueId('byref');
    const put = await store.put('local', `external/${name}.onnx`, Readable.from([iris]), { maxBytes: 1 << 20 });
    const v = await registry.registerVersion(
      scientist,
      name,
      { artifactUri: put.uri, description: '', tags: {}, metrics: {}, metadata: {}, lineage: {} },
      null,
    );
    assert.equal(v.storage.owned, false);
    await validation.handle({ versionId: v.id }, job);
    assert.equal((await registry.getVersion(scientist, name, v.version)).status, 'ready');
    await registry.deleteVersion(scientist, name, v.version);
    assert.ok(await store.stat(put.uri), 'the referenced artifact is still there');
    await assert.rejects(
      registry.registerVersion(
        scientist,
        name,
        { artifactUri: `${put.uri}.missing`, description: '', tags: {}, metrics: {}, metadata: {}, lineage: {} },
        null,
      ),
      code('VALIDATION_FAILED'),
    );
  });

  it('applies stage rules: scientist to Staging, only approvers into Production, previous one archived', async () => {
    const name = uniqueId('stages');
    const v1 = await registered(name);
    const v2 = await registered(name);
    assert.equal(
      (
        await registry.transition(scientist, name, 1, {
          stage: 'Staging',
          comment: 'looks good',
          archivePrevious: true,
        })
      ).version.stage,
      'Staging',
    );
    await assert.rejects(
      registry.transition(scientist, name, 1, { stage: 'Production', comment: '', archivePrevious: true }),
      code('FORBIDDEN'),
    );
    const p1 = await registry.transition(approver, name, v1.version, {
      stage: 'Production',
      comment: 'go',
      archivePrevious: true,
    });
    assert.equal(p1.outcome, 'transitioned');
    const p2 = await registry.transition(approver, name, v2.version, {
      stage: 'Production',
      comment: 'v2 better',
      archivePrevious: true,
    });
    assert.deepEqual(p2.archived, [1]);
    assert.equal((await registry.getVersion(scientist, name, 1)).stage, 'Archived');
    assert.equal((await registry.getModel(scientist, name)).productionVersion, 2);
    await assert.rejects(
      registry.transition(scientist, name, 2, { stage: 'Archived', comment: '', archivePrevious: true }),
      code('FORBIDDEN'),
    );
    await assert.rejects(registry.deleteVersion(scientist, name, 2), code('CONFLICT'));

    const h = await registry.history(scientist, name);
    const steps = h
      .filter((e) => e.kind === 'stage')
      .map((e) => `${e.version}:${e.from}->${e.to}:${e.actor.name}`)
      .reverse();
    assert.deepEqual(steps, [
      `1:None->Staging:${scientist.name}`,
      `1:Staging->Production:${approver.name}`,
      `1:Production->Archived:${approver.name}`,
      `2:None->Production:${approver.name}`,
    ]);
    assert.equal(h.find((e) => e.to === 'Staging')!.comment, 'looks good');
  });

  it('routes Production through a second approver when the model requires approval', async () => {
    const name = uniqueId('policy');
    await registry.createModel(scientist, { name, description: '', tags: {}, requiresApproval: true });
    const v = await registered(name);
    const r = await registry.transition(approver, name, v.version, {
      stage: 'Production',
      comment: 'please',
      archivePrevious: true,
    });
    assert.equal(r.outcome, 'approval_requested');
    assert.equal((await registry.getVersion(scientist, name, v.version)).stage, 'None');
    await assert.rejects(
      registry.transition(approver2, name, v.version, { stage: 'Production', comment: '', archivePrevious: true }),
      code('CONFLICT'),
    );
    await assert.rejects(registry.decideApproval(approver, r.approvalRequestId!, true, ''), /second approver/);
    await assert.rejects(registry.decideApproval(scientist, r.approvalRequestId!, true, ''), code('FORBIDDEN'));
    const decided = await registry.decideApproval(approver2, r.approvalRequestId!, true, 'ok by me');
    assert.equal(decided.status, 'approved');
    assert.equal(decided.decidedBy?.name, approver2.name);
    assert.equal((await registry.getVersion(scientist, name, v.version)).stage, 'Production');
    await assert.rejects(registry.decideApproval(approver2, r.approvalRequestId!, true, ''), code('CONFLICT'));
    // Only an approver may switch the policy off.
    await assert.rejects(registry.updateModel(scientist, name, { requiresApproval: false }), code('FORBIDDEN'));
  });

  it('moves aliases with history (an alias that exists only with models.promote) and protects aliased versions', async () => {
    const name = uniqueId('alias');
    await registered(name);
    await registered(name);
    assert.deepEqual((await registry.setAlias(scientist, name, 'champion', { version: 1, comment: '' })).aliases, {
      champion: 1,
    });
    // champion may be serving traffic now: moving or removing it is a promotion.
    await assert.rejects(
      registry.setAlias(scientist, name, 'champion', { version: 2, comment: '' }),
      code('FORBIDDEN'),
    );
    await assert.rejects(registry.deleteAlias(scientist, name, 'champion'), code('FORBIDDEN'));
    assert.deepEqual(
      (await registry.setAlias(approver, name, 'champion', { version: 2, comment: 'retrained' })).aliases,
      { champion: 2 },
    );
    await assert.rejects(registry.deleteVersion(scientist, name, 2), code('CONFLICT'));
    await registry.deleteAlias(approver, name, 'champion');
    const aliasSteps = (await registry.history(scientist, name))
      .filter((e) => e.kind === 'alias')
      .map((e) => `${e.from ?? '-'}=>${e.to ?? '-'}`)
      .reverse();
    assert.deepEqual(aliasSteps, ['-=>champion@1', 'champion@1=>champion@2', 'champion@2=>-']);
  });

  it('hides models outside a key allow-list', async () => {
    const name = uniqueId('hidden');
    await registered(name);
    const limited = person('viewer', {
      via: 'apiKey',
      apiKeyId: 'k',
      scopes: ['models:read'] as Scope[],
      modelAllowList: ['something-else'],
    });
    await assert.rejects(registry.getModel(limited, name), code('FORBIDDEN'));
    assert.ok(!(await registry.listModels(limited, { limit: 200 })).items.some((m) => m.name === name));
  });
  it('fails a version stuck in pending past VALIDATION_STUCK_MINUTES like any failed validation, and leaves a fresh one alone', async () => {
    const name = uniqueId('stuck');
    const register = () =>
      registry.registerVersion(
        scientist,
        name,
        { description: '', tags: {}, metrics: {}, metadata: {}, lineage: {} },
        { stream: Readable.from([iris]) },
      );
    const stuck = await register();
    const fresh = await register();
    // As if its worker had died 16 minutes ago, mid-validation.
    await ctx
      .get(PrismaService)
      .client.modelVersion.update({ where: { id: stuck.id }, data: { createdAt: new Date(Date.now() - 16 * 60_000) } });
    await ctx.get(RegistrySweepService).handle({}, job);
    const failed = await registry.getVersion(scientist, name, stuck.version);
    assert.equal(failed.status, 'failed');
    assert.match(failed.failureReason ?? '', /^Validation did not finish within 15 minutes/);
    assert.equal(await store.stat(stuck.storage.uri), null, 'its blob is removed');
    const history = await registry.history(scientist, name);
    assert.ok(
      history.some(
        (h) => h.version === stuck.version && h.kind === 'status' && h.from === 'pending' && h.to === 'failed',
      ),
    );
    assert.equal((await registry.getVersion(scientist, name, fresh.version)).status, 'pending');
    // A validation that finishes after the sweep does not bring the version back.
    assert.deepEqual(await validation.handle({ versionId: stuck.id }, job), { skipped: true });
    assert.equal((await registry.getVersion(scientist, name, stuck.version)).status, 'failed');
  });
  it('keeps the checksum of a derived serving copy (ZipMap stripped), which serving verifies', async () => {
    const zipmap = readFileSync(path.resolve(process.cwd(), 'libs/server/src/onnx/fixtures/zipmap_int.onnx'));
    const v = await registered(uniqueId('zipmap'), zipmap);
    assert.equal(v.status, 'ready', v.failureReason ?? '');
    const row = await ctx.get(PrismaService).client.modelVersion.findUniqueOrThrow({ where: { id: v.id } });
    assert.notEqual(row.servingUri, row.storageUri);
    const chunks: Buffer[] = [];
    for await (const c of await store.get(row.servingUri!)) chunks.push(c as Buffer);
    assert.equal(row.servingSha256, createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
  });
});
