import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { ZSignature, type TSignature } from '@modelyard/contracts';
import type { CommonConfig } from '@modelyard/config';
import { RegistryRepository } from '../registry/registry.repository.js';
import { EventDispatcher, REGISTRY_CHANGED } from '../events/event-dispatcher.js';
import { ARTIFACT_STORE, type ArtifactStore } from '../registry/ports.js';
import { HealthService } from '../health/health.service.js';
import { AppError } from '../platform/errors.js';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import { RedisService } from '../platform/redis.service.js';
import { servedArtifact, VersionPool, type ServedVersion, type VersionSource } from '../engine/index.js';
import { isPinned, microBatchSetting, servingFingerprint, type ModelState } from './served-version.js';
import { ServingMetrics } from './serving-metrics.js';
import { ZDeploymentConfig } from '@modelyard/contracts';

/** The version a selector names in a model's state: 404 for an unknown alias, 503 without Production. */
export function pickNumber(state: ModelState, sel: VersionSelector): number {
  if (sel.version !== undefined) return sel.version;
  if (sel.alias !== undefined) {
    const n = state.aliases.get(sel.alias);
    if (n === undefined) throw new AppError('NOT_FOUND', `Model ${state.model} has no alias "${sel.alias}"`);
    return n;
  }
  if (state.production === null)
    throw new AppError('NOT_READY', `Model ${state.model} has no version in Production; name a version or an alias`);
  return state.production;
}

export type VersionSelector = { version?: number; alias?: string };

/** How a process serves: the api warms every Production version before it is ready; the worker loads on demand. */
export interface ServingOptions {
  warmAtBoot: boolean;
}
export const SERVING_OPTIONS = Symbol('SERVING_OPTIONS');

/**
 * Which version answers: the serving side of the registry, in memory, per model what Production, each alias,
 * pilot and silent version point to. Nothing here queries Postgres per request. The sessions themselves are the
 * engine's (VersionPool: loading, warming, the artifact cache, unloading); this keeps the pool holding what the
 * states name. A `registry-changed` message (from any api or worker process) reloads one model: the new version
 * is loaded and warmed first, then the state is swapped in one assignment, so requests never see a half-loaded
 * version.
 */
@Injectable()
export class ServingService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly states = new Map<string, ModelState>();
  private readonly refreshing = new Map<string, Promise<ModelState>>();
  private readonly pool: VersionPool;
  /** Rows a default micro-batch (requests of one event-loop turn) may hold; 0: none. */
  private readonly microBatchRows: number;
  private booted = false;
  private resyncer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: RegistryRepository,
    private readonly events: EventDispatcher,
    private readonly redis: RedisService,
    private readonly health: HealthService,
    private readonly metrics: ServingMetrics,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Optional() @Inject(SERVING_OPTIONS) private readonly opts: ServingOptions = { warmAtBoot: true },
  ) {
    // SERVING_MICRO_BATCH_ROWS is the api's (the worker's runs never take the serving path's batcher).
    this.microBatchRows =
      (cfg as CommonConfig & { serving?: { microBatchRows?: number } }).serving?.microBatchRows ?? 0;
    // Request metrics carry a model's name only while the registry has that model (names in URLs are anyone's).
    metrics.knownModel = (model) => this.states.has(model);
    this.pool = new VersionPool(
      cfg.onnx,
      {
        describe: (model, n) => this.source(model, n),
        download: async (uri) => {
          const chunks: Buffer[] = [];
          for await (const c of await store.get(uri)) chunks.push(c as Buffer);
          return Buffer.concat(chunks);
        },
        pinned: (model, n) => {
          const s = this.states.get(model);
          return !!s && isPinned(s, n);
        },
        loaded: (model, n, ms) => metrics.modelLoad.set({ model, version: String(n) }, ms / 1000),
      },
      log,
    );
  }

  async onApplicationBootstrap() {
    this.events.onServingChange(async (model) => {
      if (this.states.has(model)) await this.refresh(model).catch(() => undefined);
    });
    await this.redis.subscribe(REGISTRY_CHANGED, (msg) => {
      let model: string | undefined;
      try {
        model = (JSON.parse(msg) as { model?: string }).model;
      } catch {
        /* ignore foreign messages */
      }
      if (model)
        void this.refresh(model).catch((err: unknown) =>
          this.log.error({ err, model }, 'could not refresh serving state'),
        );
    });
    // Not ready while starting or while a Production version is loading. A version whose artifact cannot load
    // at all is logged and answers 503 on its own routes, but does not keep every replica out of service.
    this.health.register('models', async () => {
      if (!this.booted) throw new Error('models are still loading');
      const loading = [...this.states.values()]
        .filter(
          (s) =>
            s.production !== null &&
            !this.pool.has(s.model, s.production) &&
            this.pool.isLoading(s.model, s.production),
        )
        .map((s) => `${s.model} v${s.production}`);
      if (loading.length) throw new Error(`still warming: ${loading.join(', ')}`);
    });
    // Warm every Production version before readiness says yes; a broken one is logged, not fatal to the others.
    const prod = this.opts.warmAtBoot ? await this.repo.productionVersions() : [];
    await Promise.all(
      [...new Set(prod.map((p) => p.model.name))].map((m) =>
        this.refresh(m).catch((err: unknown) => this.log.error({ err, model: m }, 'could not load model at boot')),
      ),
    );
    this.booted = true;
    this.pool.start();
    this.resyncer = setInterval(
      () => void this.resync().catch((err: unknown) => this.log.warn({ err }, 'serving resync failed')),
      this.cfg.registrySync.seconds * 1000,
    );
    this.resyncer.unref();
    this.log.info({ models: this.states.size, versions: this.pool.size }, 'serving warm');
  }

  async onModuleDestroy() {
    if (this.resyncer) clearInterval(this.resyncer);
    await this.pool.close();
  }

  /** Production versions whose session is not loaded yet (readiness). */
  coldProduction(): string[] {
    return [...this.states.values()]
      .filter((s) => s.production !== null && !this.pool.has(s.model, s.production))
      .map((s) => `${s.model} v${s.production}`);
  }

  isReady(model: string, version?: number): boolean {
    const s = this.states.get(model);
    const n = version ?? s?.production ?? null;
    return n !== null && this.pool.has(model, n);
  }

  state(model: string): ModelState | undefined {
    return this.states.get(model);
  }

  /**
   * The version that answers: an explicit number, an alias, or Production. 404 for what does not exist, 503
   * for what exists but cannot answer yet.
   */
  async resolve(model: string, sel: VersionSelector = {}): Promise<ServedVersion> {
    const n = await this.versionNumber(model, sel);
    return this.pool.get(model, n) ?? this.pool.load(model, n);
  }

  /** A version's verified served bytes, for a second session of it (the silent runner's thread). */
  artifactBytes(sv: ServedVersion): Promise<Buffer> {
    return this.pool.artifact(sv.model, sv.version);
  }

  /** A loaded version's session, marked as used; undefined when it must be loaded first. */
  loaded(model: string, n: number): ServedVersion | undefined {
    return this.pool.get(model, n);
  }

  /**
   * The number `resolve` would serve, without loading it (jobs fix their version when they are accepted). `fresh`:
   * read from Postgres now, not from this process's state, which hears of a promotion by pub/sub a moment after the
   * promotion has answered: a job submitted right after one (a pipeline's next step) must see it.
   */
  async versionNumber(model: string, sel: VersionSelector = {}, { fresh = false } = {}): Promise<number> {
    return pickNumber((!fresh && this.states.get(model)) || (await this.refresh(model)), sel);
  }

  /**
   * Re-reads one model's stage and aliases, warms what is new, then swaps the state in one step. Refreshes of
   * one model run one after another: two overlapping ones could otherwise finish out of order and leave the
   * older database read in place.
   */
  refresh(model: string): Promise<ModelState> {
    const run = (this.refreshing.get(model) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.refreshNow(model));
    this.refreshing.set(model, run);
    void run
      .finally(() => {
        if (this.refreshing.get(model) === run) this.refreshing.delete(model);
      })
      .catch(() => undefined);
    return run;
  }

  /**
   * Pub/sub is fast but not guaranteed (a process that was disconnected, a message published while Redis was
   * down): every SERVING_RESYNC_SECONDS each process compares what its models' states were built from with
   * Postgres in one query, and refreshes the ones that differ or are gone. A missed promotion heals within that.
   */
  async resync(): Promise<string[]> {
    const names = [...this.states.keys()];
    if (!names.length) return [];
    const facts = await this.repo.servingFacts(names);
    const stale = names.filter((n) => {
      const f = facts.get(n);
      return !f || servingFingerprint(f) !== this.states.get(n)?.fingerprint;
    });
    for (const model of stale) {
      this.log.warn({ model }, 'serving state was behind Postgres (a missed registry-changed message); refreshing');
      await this.refresh(model).catch((err: unknown) =>
        this.log.warn({ err, model }, 'could not refresh serving state'),
      );
    }
    return stale;
  }

  private async refreshNow(model: string): Promise<ModelState> {
    const m = await this.repo.findModel(model);
    if (!m) {
      if (this.states.delete(model)) this.metrics.forgetModel(model);
      throw new AppError('NOT_FOUND', `Model ${model} not found`);
    }
    const current = await this.repo.currentDeployment(m.id);
    const deployment = current ? ZDeploymentConfig.parse(current.config) : null;
    const stageProduction = m.versions.find((v) => v.stage === 'Production')?.number ?? null;
    const production = deployment?.production.mode === 'pinned' ? deployment.production.version : stageProduction;
    const pilots = (deployment?.pilots ?? []).map((p) => ({
      version: p.version,
      groups: p.groups,
      percentage: p.percentage,
      startsAt: p.startsAt ? Date.parse(p.startsAt) : null,
      endsAt: p.endsAt ? Date.parse(p.endsAt) : null,
    }));
    const microBatch = microBatchSetting(m.servingConfig, this.microBatchRows);
    const silent = (deployment?.silent ?? []).map((x) => ({ version: x.version, sampleRate: x.sampleRate }));
    const fingerprint = servingFingerprint({
      productionStage: m.versions.filter((v) => v.stage === 'Production').map((v) => v.number),
      aliases: m.aliases.map((a) => ({ name: a.name, version: a.version.number })),
      deploymentRevision: current?.number ?? null,
      servingConfig: m.servingConfig,
    });
    const staged = new Set(
      m.versions.filter((v) => v.stage === 'Staging' || v.stage === 'Production').map((v) => v.number),
    );
    const next: ModelState = {
      model,
      production,
      staged,
      aliases: new Map(m.aliases.map((a) => [a.name, a.version.number])),
      pilots,
      silent,
      microBatch,
      fingerprint,
    };
    const wanted = new Set(
      [production, ...next.aliases.values(), ...pilots.map((p) => p.version), ...silent.map((x) => x.version)].filter(
        (n): n is number => n !== null,
      ),
    );
    await Promise.all(
      [...wanted].map((n) =>
        this.pool
          .load(model, n)
          .catch((err: unknown) => this.log.error({ err, model, version: n }, 'could not load version')),
      ),
    );
    const before = this.states.get(model);
    this.states.set(model, next);
    if (before?.production !== next.production)
      this.log.info({ model, from: before?.production ?? null, to: next.production }, 'production version switched');
    // Versions dropped from the model (deleted, archived without alias) are unloaded after the grace period.
    this.pool.retire(model, wanted);
    return next;
  }

  /** A version's row as the pool loads it: 404 for what does not exist, 503 for what is still being validated. */
  private async source(model: string, n: number): Promise<VersionSource> {
    const v = await this.repo.findVersion(model, n);
    if (!v) throw new AppError('NOT_FOUND', `Model ${model} has no version ${n}`);
    if (v.status === 'pending') throw new AppError('NOT_READY', `Version ${n} of ${model} is still being validated`);
    if (v.status === 'failed' || !v.servingUri)
      throw new AppError('NOT_FOUND', `Version ${n} of ${model} failed validation and cannot serve`);
    return {
      versionId: v.id,
      signature: ZSignature.parse(v.signature) as TSignature,
      ...servedArtifact(v),
      samples: Array.isArray(v.sampleInput) ? (v.sampleInput as unknown[]) : null,
    };
  }
}
