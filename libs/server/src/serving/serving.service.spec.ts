import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { TDeploymentConfig } from '@modelyard/contracts';
import type { EventDispatcher } from '../events/event-dispatcher.js';
import type { HealthService } from '../health/health.service.js';
import { sharedModel } from '../onnx/onnx.test-support.js';
import { AppError } from '../platform/errors.js';
import type { RedisService } from '../platform/redis.service.js';
import type { ArtifactStore } from '../registry/ports.js';
import type { RegistryRepository } from '../registry/registry.repository.js';
import { irisSignature } from './formats/formats.test-support.js';
import { ServingMetrics } from './serving-metrics.js';
import { ServingService } from './serving.service.js';

const iris = sharedModel('iris_logreg');
const SHA = createHash('sha256').update(iris.bytes).digest('hex');
const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const cacheDirs: string[] = [];
const GROUP = '6f0c7d1e-0000-4000-8000-000000000001';

type Stage = 'None' | 'Staging' | 'Production' | 'Archived';
type Version = { number: number; stage: Stage; status: 'ready' | 'pending' | 'failed'; sha256?: string };
type Model = {
  id: string;
  servingConfig: unknown;
  versions: Version[];
  aliases: Record<string, number>;
  deployment: { number: number; config: TDeploymentConfig } | null;
};

/**
 * The registry as rows in memory, read the way RegistryRepository reads it. `gate`, when set, holds the next
 * `findModel` after it has taken its snapshot: a slow database read.
 */
function fakeRegistry() {
  const models = new Map<string, Model>();
  const reads = { findModel: [] as string[], gate: null as Promise<void> | null };
  const model = (name: string, versions: Version[], over: Partial<Model> = {}) =>
    models.set(name, { id: `id-${name}`, servingConfig: null, versions, aliases: {}, deployment: null, ...over });
  const byId = (id: string) => [...models.values()].find((m) => m.id === id);
  const repo = {
    findModel: async (name: string) => {
      reads.findModel.push(name);
      const m = models.get(name);
      const row = m && {
        id: m.id,
        name,
        servingConfig: structuredClone(m.servingConfig),
        versions: [...m.versions].sort((a, b) => b.number - a.number).map((v) => ({ ...v })),
        aliases: Object.entries(m.aliases).map(([a, n]) => ({ name: a, version: { number: n } })),
      };
      const gate = reads.gate;
      reads.gate = null;
      if (gate) await gate;
      return row ?? null;
    },
    currentDeployment: async (id: string) => structuredClone(byId(id)?.deployment ?? null),
    findVersion: async (name: string, n: number) => {
      const v = models.get(name)?.versions.find((x) => x.number === n);
      if (!v) return null;
      const uri = `file:///models/${name}/${n}/model.onnx`;
      return {
        id: `${name}-v${n}`,
        number: n,
        status: v.status,
        storageUri: uri,
        servingUri: v.status === 'ready' ? uri : null,
        sha256: v.sha256 ?? SHA,
        servingSha256: null,
        signature: irisSignature(),
        sampleInput: null,
      };
    },
    productionVersions: async () =>
      [...models.entries()].flatMap(([name, m]) =>
        m.versions.filter((v) => v.stage === 'Production').map((v) => ({ number: v.number, model: { name } })),
      ),
    servingFacts: async (names: string[]) =>
      new Map(
        names
          .filter((n) => models.has(n))
          .map((n) => {
            const m = models.get(n)!;
            const facts = {
              productionStage: m.versions.filter((v) => v.stage === 'Production').map((v) => v.number),
              aliases: Object.entries(m.aliases).map(([name, version]) => ({ name, version })),
              deploymentRevision: m.deployment?.number ?? null,
              servingConfig: m.servingConfig,
            };
            return [n, facts];
          }),
      ),
  } as unknown as RegistryRepository;
  return { repo, models, model, reads };
}

/** The other processes' side: the registry-changed channel, readiness checks and in-process serving changes. */
function fakePlatform() {
  const subscribers = new Map<string, (msg: string) => void>();
  const checks = new Map<string, () => Promise<void>>();
  const servingListeners: ((model: string) => Promise<void>)[] = [];
  const downloads: string[] = [];
  const redis = {
    subscribe: async (channel: string, h: (msg: string) => void) => void subscribers.set(channel, h),
  } as unknown as RedisService;
  const health = {
    register: (name: string, c: () => Promise<void>) => void checks.set(name, c),
  } as unknown as HealthService;
  const events = {
    onServingChange: (l: (model: string) => Promise<void>) => void servingListeners.push(l),
  } as unknown as EventDispatcher;
  const store = {
    get: async (uri: string) => {
      downloads.push(uri);
      return Readable.from([iris.bytes]);
    },
  } as unknown as ArtifactStore;
  return { redis, health, events, store, subscribers, checks, servingListeners, downloads };
}

function build(reg: ReturnType<typeof fakeRegistry>, warmAtBoot = true) {
  const p = fakePlatform();
  const metrics = new ServingMetrics();
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'modelyard-serving-spec-'));
  cacheDirs.push(cacheDir);
  const cfg = {
    onnx: { cacheDir, maxLoadedMb: 2048, intraOpThreads: 1, contained: { memoryMb: 512, runSeconds: 20 } },
    registrySync: { seconds: 3600 },
    serving: { microBatchRows: 256 },
  } as unknown as CommonConfig;
  const sut = new ServingService(
    reg.repo,
    p.events,
    p.redis,
    p.health,
    metrics,
    p.store,
    cfg,
    pino({ level: 'silent' }),
    {
      warmAtBoot,
    },
  );
  return { sut, metrics, ...p };
}

/** Waits (bounded) for something a fire-and-forget refresh does. */
async function eventually(check: () => boolean, ms = 5000) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe(ServingService.name, () => {
  let reg: ReturnType<typeof fakeRegistry>;
  let t: ReturnType<typeof build>;
  beforeEach(() => {
    reg = fakeRegistry();
    reg.model(
      'iris',
      [
        { number: 1, stage: 'Archived', status: 'ready' },
        { number: 2, stage: 'Production', status: 'ready' },
        { number: 3, stage: 'Staging', status: 'ready' },
        { number: 4, stage: 'None', status: 'ready' },
        { number: 5, stage: 'None', status: 'pending' },
        { number: 6, stage: 'None', status: 'failed' },
        { number: 7, stage: 'None', status: 'ready', sha256: 'f'.repeat(64) },
      ],
      { aliases: { champion: 1 } },
    );
    t = build(reg);
  });
  afterEach(() => t.sut.onModuleDestroy());
  after(() => cacheDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('serves Production when nothing is named, an alias by its name and any ready version by its number', async () => {
    const prod = await t.sut.resolve('iris');
    assert.deepEqual([prod.model, prod.version, prod.versionId], ['iris', 2, 'iris-v2']);
    assert.deepEqual(prod.outputNames, ['label', 'probabilities']);
    assert.equal((await t.sut.resolve('iris', { alias: 'champion' })).version, 1);
    assert.equal((await t.sut.resolve('iris', { version: 4 })).version, 4);
    assert.equal(await t.sut.versionNumber('iris', { alias: 'champion' }), 1);
  });

  it('reads the stage from the database when asked fresh (a job), where its own state has not heard of a promotion', async () => {
    reg.model('later', [{ number: 1, stage: 'None', status: 'ready' }]);
    await assert.rejects(t.sut.versionNumber('later'), code('NOT_READY'));
    // Promoted in the database; the pub/sub message has not reached this process yet.
    reg.model('later', [{ number: 1, stage: 'Production', status: 'ready' }]);
    await assert.rejects(t.sut.versionNumber('later'), code('NOT_READY'));
    assert.equal(await t.sut.versionNumber('later', {}, { fresh: true }), 1);
  });

  it('loads what the model deploys before the state is in place, and nothing else until asked', async () => {
    const state = await t.sut.refresh('iris');
    assert.deepEqual([state.production, [...state.aliases], [...state.staged].sort()], [2, [['champion', 1]], [2, 3]]);
    assert.ok(t.sut.loaded('iris', 2) && t.sut.loaded('iris', 1));
    assert.equal(t.sut.loaded('iris', 3), undefined);
    assert.equal(t.sut.isReady('iris'), true);
    assert.equal(t.sut.isReady('iris', 4), false);
    assert.deepEqual(t.sut.coldProduction(), []);
    // One download per version: the artifact cache serves it from then on.
    assert.deepEqual(t.downloads.sort(), ['file:///models/iris/1/model.onnx', 'file:///models/iris/2/model.onnx']);
  });

  it('answers 404 for an unknown model or alias, and 503 when nothing is in Production', async () => {
    await assert.rejects(t.sut.resolve('nope'), code('NOT_FOUND'));
    await assert.rejects(t.sut.resolve('iris', { alias: 'nope' }), code('NOT_FOUND'));
    reg.model('fresh', [{ number: 1, stage: 'Staging', status: 'ready' }]);
    await assert.rejects(t.sut.resolve('fresh'), (e: unknown) => {
      assert.ok(code('NOT_READY')(e));
      assert.match((e as Error).message, /fresh has no version in Production; name a version or an alias/);
      return true;
    });
  });

  it('refuses what cannot serve: 503 while validating, 404 when failed or missing, 500 on a bad checksum', async () => {
    await assert.rejects(t.sut.resolve('iris', { version: 5 }), code('NOT_READY'));
    await assert.rejects(t.sut.resolve('iris', { version: 6 }), code('NOT_FOUND'));
    await assert.rejects(t.sut.resolve('iris', { version: 99 }), code('NOT_FOUND'));
    await assert.rejects(t.sut.resolve('iris', { version: 7 }), code('INTERNAL'));
    assert.equal(t.sut.loaded('iris', 7), undefined);
  });

  it('lets a pinned deployment override the Production stage, and keeps pilot and silent versions loaded', async () => {
    reg.models.get('iris')!.deployment = {
      number: 4,
      config: {
        production: { mode: 'pinned', version: 3 },
        pilots: [{ version: 4, groups: [GROUP], percentage: 0, startsAt: '2030-01-01T00:00:00.000Z' }],
        silent: [{ version: 1, sampleRate: 0.25 }],
      },
    };
    const state = await t.sut.refresh('iris');
    assert.equal(state.production, 3);
    assert.equal((await t.sut.resolve('iris')).version, 3);
    assert.deepEqual(state.pilots, [
      { version: 4, groups: [GROUP], percentage: 0, startsAt: Date.parse('2030-01-01T00:00:00.000Z'), endsAt: null },
    ]);
    assert.deepEqual(state.silent, [{ version: 1, sampleRate: 0.25 }]);
    assert.ok([1, 3, 4].every((n) => t.sut.loaded('iris', n)));
    assert.equal(t.sut.loaded('iris', 2), undefined);
  });

  it('carries the model’s micro-batching setting into its state: its own, none, or the requests of one turn', async () => {
    reg.models.get('iris')!.servingConfig = { microBatch: { maxBatchRows: 32, maxWaitUs: 500 } };
    assert.deepEqual((await t.sut.refresh('iris')).microBatch, { maxBatchRows: 32, maxWaitUs: 500 });
    reg.models.get('iris')!.servingConfig = { microBatch: false };
    assert.equal((await t.sut.refresh('iris')).microBatch, null);
    // No setting of its own (or null): SERVING_MICRO_BATCH_ROWS, waiting for no one.
    for (const servingConfig of [{}, { microBatch: null }]) {
      reg.models.get('iris')!.servingConfig = servingConfig;
      assert.deepEqual((await t.sut.refresh('iris')).microBatch, { maxBatchRows: 256, maxWaitUs: 0 });
    }
  });

  it('forgets a model deleted from the registry: 404, and its name is no longer a metrics label', async () => {
    await t.sut.refresh('iris');
    assert.equal(t.metrics.knownModel('iris'), true);
    reg.models.delete('iris');
    await assert.rejects(t.sut.refresh('iris'), code('NOT_FOUND'));
    assert.equal(t.sut.state('iris'), undefined);
    assert.equal(t.metrics.knownModel('iris'), false);
  });

  it('finishes overlapping refreshes of one model in order, so the newer registry read wins', async () => {
    await t.sut.refresh('iris');
    let open!: () => void;
    reg.reads.gate = new Promise((r) => (open = r));
    const older = t.sut.refresh('iris');
    await eventually(() => reg.reads.findModel.length === 2);
    // Promoted while the first read is still on its way; the second refresh must not be overtaken by the first.
    reg.models.get('iris')!.versions[2]!.stage = 'Production';
    reg.models.get('iris')!.versions[1]!.stage = 'Archived';
    const newer = t.sut.refresh('iris');
    // Time enough for a refresh that did not wait its turn to read the registry and finish first.
    await new Promise((r) => setTimeout(r, 100));
    open();
    assert.equal((await older).production, 2);
    assert.equal((await newer).production, 3);
    assert.equal(t.sut.state('iris')!.production, 3);
  });

  describe('keeping up with the registry', () => {
    it('warms every Production version at boot, and only then is ready', async () => {
      reg.model('other', [{ number: 1, stage: 'Production', status: 'ready' }]);
      let open!: () => void;
      reg.reads.gate = new Promise((r) => (open = r));
      const booting = t.sut.onApplicationBootstrap();
      await eventually(() => reg.reads.findModel.length === 2);
      await assert.rejects(t.checks.get('models')!(), /models are still loading/);
      open();
      await booting;
      assert.ok(t.sut.loaded('iris', 2) && t.sut.loaded('other', 1));
      await t.checks.get('models')!();
      assert.deepEqual(t.sut.coldProduction(), []);
    });

    it('loads nothing at boot in a process that serves on demand (the worker)', async () => {
      t = build(reg, false);
      await t.sut.onApplicationBootstrap();
      assert.equal(t.sut.state('iris'), undefined);
      assert.deepEqual(t.downloads, []);
      assert.equal((await t.sut.resolve('iris')).version, 2);
    });

    it('refreshes a model on a registry-changed message from any process, and ignores foreign messages', async () => {
      await t.sut.onApplicationBootstrap();
      const publish = t.subscribers.get('registry-changed')!;
      publish('not json');
      publish(JSON.stringify({ other: 'thing' }));
      reg.models.get('iris')!.aliases.champion = 4;
      publish(JSON.stringify({ model: 'iris' }));
      await eventually(() => t.sut.state('iris')!.aliases.get('champion') === 4);
      assert.ok(t.sut.loaded('iris', 4));
    });

    it('refreshes on an in-process serving change only the models it serves', async () => {
      await t.sut.onApplicationBootstrap();
      reg.model('elsewhere', [{ number: 1, stage: 'Production', status: 'ready' }]);
      reg.models.get('iris')!.aliases.challenger = 3;
      reg.reads.findModel.length = 0;
      for (const l of t.servingListeners) {
        await l('iris');
        await l('elsewhere');
      }
      assert.deepEqual(reg.reads.findModel, ['iris']);
      assert.equal(t.sut.state('iris')!.aliases.get('challenger'), 3);
      assert.equal(t.sut.state('elsewhere'), undefined);
    });

    it('resync refreshes the models whose registry facts moved (a missed message), and only those', async () => {
      reg.model('other', [{ number: 1, stage: 'Production', status: 'ready' }]);
      await t.sut.refresh('iris');
      await t.sut.refresh('other');
      assert.deepEqual(await t.sut.resync(), []);
      reg.models.get('iris')!.deployment = {
        number: 1,
        config: { production: { mode: 'pinned', version: 4 }, pilots: [], silent: [] },
      };
      reg.reads.findModel.length = 0;
      assert.deepEqual(await t.sut.resync(), ['iris']);
      assert.deepEqual(reg.reads.findModel, ['iris']);
      assert.equal(t.sut.state('iris')!.production, 4);
      reg.models.delete('other');
      assert.deepEqual(await t.sut.resync(), ['other']);
      assert.equal(t.sut.state('other'), undefined);
    });
  });
});
