import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import * as ort from 'onnxruntime-node';
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
import { isolatedSessionOptions } from '../onnx/onnx-session.js';
import { warmFeeds } from '../onnx/warm-feeds.js';
import { isPinned, servingFingerprint, type ModelState, type ServedVersion } from './served-version.js';
import { pickEvictions } from './eviction.js';
import { verifiedArtifact } from './artifact-cache.js';
import { ServingMetrics } from './serving-metrics.js';
import { DeploymentsRepository } from '../deployments/deployments.repository.js';
import { ZDeploymentConfig } from '@modelyard/contracts';

/** The version a selector names in a model's state: 404 for an unknown alias, 503 without Production. */
export function pickNumber(state: ModelState, sel: VersionSelector): number {
  if (sel.version !== undefined) return sel.version;
  if (sel.alias !== undefined) {
    const n = state.aliases.get(sel.alias);
    if (n === undefined) throw new AppError('NOT_FOUND', `Model ${state.model} has no alias "${sel.alias}"`);
    return n;
  }
  if (state.production === null) throw new AppError('NOT_READY', `Model ${state.model} has no version in Production; name a version or an alias`);
  return state.production;
}

/** Versions not asked for in this long (and not production or aliased) are unloaded. */
const IDLE_UNLOAD_MS = 10 * 60_000;
/** A replaced session is released only after in-flight requests on it have had time to finish. */
const RELEASE_GRACE_MS = 30_000;

export type VersionSelector = { version?: number; alias?: string };

/** How a process serves: the api warms every Production version before it is ready; the worker loads on demand. */
export interface ServingOptions {
  warmAtBoot: boolean;
}
export const SERVING_OPTIONS = Symbol('SERVING_OPTIONS');

/**
 * The serving side of the registry, in memory: per model what Production and each alias point to, and the
 * loaded sessions. Nothing here queries Postgres per request. A `registry-changed` message (from any api or
 * worker process) reloads one model: the new version is loaded and warmed first, then the state is swapped in
 * one assignment, so requests never see a half-loaded version.
 */
@Injectable()
export class ServingService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly states = new Map<string, ModelState>();
  private readonly versions = new Map<string, ServedVersion>();
  private readonly loading = new Map<string, Promise<ServedVersion>>();
  private readonly refreshing = new Map<string, Promise<ModelState>>();
  private readonly lastUsed = new Map<string, number>();
  /** Artifact bytes of each loaded version (SERVING_MAX_LOADED_MB). */
  private readonly sizes = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private booted = false;
  private sweeper: NodeJS.Timeout | null = null;
  private resyncer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: RegistryRepository,
    private readonly deployments: DeploymentsRepository,
    private readonly events: EventDispatcher,
    private readonly redis: RedisService,
    private readonly health: HealthService,
    private readonly metrics: ServingMetrics,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Optional() @Inject(SERVING_OPTIONS) private readonly opts: ServingOptions = { warmAtBoot: true },
  ) {
    // Request metrics carry a model's name only while the registry has that model (names in URLs are anyone's).
    metrics.knownModel = (model) => this.states.has(model);
  }

  async onApplicationBootstrap() {
    this.events.onServingChange(async (model) => { if (this.states.has(model)) await this.refresh(model).catch(() => undefined); });
    await this.redis.subscribe(REGISTRY_CHANGED, (msg) => {
      let model: string | undefined;
      try { model = (JSON.parse(msg) as { model?: string }).model; } catch { /* ignore foreign messages */ }
      if (model) void this.refresh(model).catch((err: unknown) => this.log.error({ err, model }, 'could not refresh serving state'));
    });
    // Not ready while starting or while a Production version is loading. A version whose artifact cannot load
    // at all is logged and answers 503 on its own routes, but does not keep every replica out of service.
    this.health.register('models', async () => {
      if (!this.booted) throw new Error('models are still loading');
      const loading = this.coldProduction().filter((k) => this.loading.has(k.replace(' v', '@')));
      if (loading.length) throw new Error(`still warming: ${loading.join(', ')}`);
    });
    // Warm every Production version before readiness says yes; a broken one is logged, not fatal to the others.
    const prod = this.opts.warmAtBoot ? await this.repo.productionVersions() : [];
    await Promise.all([...new Set(prod.map((p) => p.model.name))].map((m) => this.refresh(m).catch((err: unknown) => this.log.error({ err, model: m }, 'could not load model at boot'))));
    this.booted = true;
    this.sweeper = setInterval(() => this.sweepIdle(), 60_000);
    this.sweeper.unref();
    this.resyncer = setInterval(() => void this.resync().catch((err: unknown) => this.log.warn({ err }, 'serving resync failed')), this.cfg.registrySync.seconds * 1000);
    this.resyncer.unref();
    this.log.info({ models: this.states.size, versions: this.versions.size }, 'serving warm');
  }

  async onModuleDestroy() {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.resyncer) clearInterval(this.resyncer);
    for (const t of this.timers) clearTimeout(t);
    await Promise.allSettled([...this.versions.values()].map((v) => v.session.release()));
    this.versions.clear();
  }

  /** Production versions whose session is not loaded yet (readiness). */
  coldProduction(): string[] {
    return [...this.states.values()].filter((s) => s.production !== null && !this.versions.has(key(s.model, s.production))).map((s) => `${s.model} v${s.production}`);
  }

  isReady(model: string, version?: number): boolean {
    const s = this.states.get(model);
    const n = version ?? s?.production ?? null;
    return n !== null && this.versions.has(key(model, n));
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
    return this.loaded(model, n) ?? this.load(model, n);
  }

  /** A loaded version's session, marked as used; undefined when it must be loaded first. */
  loaded(model: string, n: number): ServedVersion | undefined {
    const k = key(model, n);
    const sv = this.versions.get(k);
    if (sv) this.lastUsed.set(k, Date.now());
    return sv;
  }

  /** The number `resolve` would serve, without loading it (jobs fix their version when they are accepted). */
  async versionNumber(model: string, sel: VersionSelector = {}): Promise<number> {
    return pickNumber(this.states.get(model) ?? (await this.refresh(model)), sel);
  }

  /**
   * Re-reads one model's stage and aliases, warms what is new, then swaps the state in one step. Refreshes of
   * one model run one after another: two overlapping ones could otherwise finish out of order and leave the
   * older database read in place.
   */
  refresh(model: string): Promise<ModelState> {
    const run = (this.refreshing.get(model) ?? Promise.resolve()).catch(() => undefined).then(() => this.refreshNow(model));
    this.refreshing.set(model, run);
    void run.finally(() => { if (this.refreshing.get(model) === run) this.refreshing.delete(model); }).catch(() => undefined);
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
      await this.refresh(model).catch((err: unknown) => this.log.warn({ err, model }, 'could not refresh serving state'));
    }
    return stale;
  }

  private async refreshNow(model: string): Promise<ModelState> {
    const m = await this.repo.findModel(model);
    if (!m) {
      if (this.states.delete(model)) this.metrics.forgetModel(model);
      throw new AppError('NOT_FOUND', `Model ${model} not found`);
    }
    const rev = await this.deployments.current(m.id);
    const deployment = rev ? ZDeploymentConfig.parse(rev.config) : null;
    const stageProduction = m.versions.find((v) => v.stage === 'Production')?.number ?? null;
    const production = deployment?.production.mode === 'pinned' ? deployment.production.version : stageProduction;
    const pilots = (deployment?.pilots ?? []).map((p) => ({
      version: p.version, groups: p.groups, percentage: p.percentage,
      startsAt: p.startsAt ? Date.parse(p.startsAt) : null, endsAt: p.endsAt ? Date.parse(p.endsAt) : null,
    }));
    const microBatch = (m.servingConfig as { microBatch?: ModelState['microBatch'] } | null)?.microBatch ?? null;
    const silent = (deployment?.silent ?? []).map((x) => ({ version: x.version, sampleRate: x.sampleRate }));
    const fingerprint = servingFingerprint({
      productionStage: m.versions.filter((v) => v.stage === 'Production').map((v) => v.number),
      aliases: m.aliases.map((a) => ({ name: a.name, version: a.version.number })),
      deploymentRevision: rev?.number ?? null, servingConfig: m.servingConfig,
    });
    const staged = new Set(m.versions.filter((v) => v.stage === 'Staging' || v.stage === 'Production').map((v) => v.number));
    const next: ModelState = {
      model, production, staged, aliases: new Map(m.aliases.map((a) => [a.name, a.version.number])), pilots, silent, microBatch, fingerprint,
    };
    const wanted = new Set([production, ...next.aliases.values(), ...pilots.map((p) => p.version), ...silent.map((x) => x.version)].filter((n): n is number => n !== null));
    await Promise.all([...wanted].map((n) => this.load(model, n).catch((err: unknown) => this.log.error({ err, model, version: n }, 'could not load version'))));
    const before = this.states.get(model);
    this.states.set(model, next);
    if (before?.production !== next.production) this.log.info({ model, from: before?.production ?? null, to: next.production }, 'production version switched');
    // Versions dropped from the model (deleted, archived without alias) are unloaded after the grace period.
    for (const k of [...this.versions.keys()].filter((k) => k.startsWith(`${model}@`))) {
      const n = Number(k.split('@')[1]);
      if (!wanted.has(n)) this.scheduleRelease(k, IDLE_UNLOAD_MS);
    }
    return next;
  }

  private load(model: string, n: number): Promise<ServedVersion> {
    const k = key(model, n);
    const have = this.versions.get(k);
    if (have) return Promise.resolve(have);
    let p = this.loading.get(k);
    if (!p) {
      p = this.loadNow(model, n).finally(() => this.loading.delete(k));
      this.loading.set(k, p);
    }
    return p;
  }

  private async loadNow(model: string, n: number): Promise<ServedVersion> {
    const started = Date.now();
    const v = await this.repo.findVersion(model, n);
    if (!v) throw new AppError('NOT_FOUND', `Model ${model} has no version ${n}`);
    if (v.status === 'pending') throw new AppError('NOT_READY', `Version ${n} of ${model} is still being validated`);
    if (v.status === 'failed' || !v.servingUri) throw new AppError('NOT_FOUND', `Version ${n} of ${model} failed validation and cannot serve`);
    const signature = ZSignature.parse(v.signature) as TSignature;
    // The derived copy (ZipMap stripped) has its own checksum; versions registered before it was kept have none.
    const bytes = await this.artifactBytes(v.servingUri, v.servingUri === v.storageUri ? v.sha256 : v.servingSha256);
    // External data resolves in an empty folder, never against this process's working directory.
    const session = await ort.InferenceSession.create(bytes, isolatedSessionOptions({
      intraOpNumThreads: this.cfg.onnx.intraOpThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Spinning threads burn the cores other requests and processes need.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    }));
    const outputNames = signature.outputs.map((o) => o.name).filter((o) => session.outputNames.includes(o));
    const served: ServedVersion = {
      model, version: n, versionId: v.id, signature, session, outputNames,
      labelOutput: signature.labelOutput ?? null, probabilityOutput: signature.probabilityOutput ?? null,
      loadedAt: Date.now(), loadMs: 0,
    };
    await this.warm(served, Array.isArray(v.sampleInput) ? (v.sampleInput as unknown[]) : null);
    served.loadMs = Date.now() - started;
    this.metrics.modelLoad.set({ model, version: String(n) }, served.loadMs / 1000);
    this.versions.set(key(model, n), served);
    this.lastUsed.set(key(model, n), Date.now());
    this.sizes.set(key(model, n), bytes.length);
    this.log.info({ model, version: n, ms: served.loadMs }, 'version loaded');
    this.evictOverCap(key(model, n));
    return served;
  }

  /** Runs the sample rows (or one synthetic row) so the first real request does not pay for lazy init. */
  private async warm(sv: ServedVersion, samples: unknown[] | null) {
    try {
      const feeds = warmFeeds(sv.signature, samples);
      if (feeds) await sv.session.run(feeds, sv.outputNames);
    } catch (err) {
      this.log.warn({ err, model: sv.model, version: sv.version }, 'warm-up run failed; serving anyway');
    }
  }

  /** Served bytes from the local cache or from storage, verified against their checksum (./artifact-cache.ts). */
  private artifactBytes(uri: string, sha256: string | null): Promise<Buffer> {
    return verifiedArtifact(this.cfg.onnx.cacheDir, uri, sha256, async () => {
      const chunks: Buffer[] = [];
      for await (const c of await this.store.get(uri)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    }, (msg) => this.log.warn({ uri }, msg));
  }

  /**
   * Keeps the artifacts this process holds within SERVING_MAX_LOADED_MB: least recently used first, never a
   * deployed version (stage, production, alias, pilot, silent), never the one just loaded.
   */
  private evictOverCap(justLoaded: string) {
    const loaded = [...this.versions.keys()].map((k) => {
      const [model, n] = [k.split('@')[0]!, Number(k.split('@')[1])];
      const s = this.states.get(model);
      return { key: k, bytes: this.sizes.get(k) ?? 0, lastUsed: this.lastUsed.get(k) ?? 0, deployed: !!s && isPinned(s, n) };
    });
    for (const k of pickEvictions(loaded, this.cfg.onnx.maxLoadedMb * 1024 * 1024, justLoaded)) {
      this.log.info({ version: k }, 'unloading the least recently used version (SERVING_MAX_LOADED_MB)');
      this.unload(k);
    }
  }

  private sweepIdle() {
    const now = Date.now();
    for (const [k] of this.versions) {
      const [model, n] = [k.split('@')[0]!, Number(k.split('@')[1])];
      const s = this.states.get(model);
      const pinned = s && isPinned(s, n);
      if (!pinned && now - (this.lastUsed.get(k) ?? 0) > IDLE_UNLOAD_MS) this.scheduleRelease(k, 0);
    }
  }

  private scheduleRelease(k: string, afterMs: number) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      const [model, n] = [k.split('@')[0]!, Number(k.split('@')[1])];
      const s = this.states.get(model);
      if (s && isPinned(s, n)) return;
      if (Date.now() - (this.lastUsed.get(k) ?? 0) < IDLE_UNLOAD_MS && afterMs > 0) return;
      this.unload(k);
    }, afterMs);
    t.unref();
    this.timers.add(t);
  }

  private unload(k: string) {
    const v = this.versions.get(k);
    if (!v) return;
    this.versions.delete(k);
    this.sizes.delete(k);
    // Requests that resolved this version a moment ago may still be running on it.
    const r = setTimeout(() => { this.timers.delete(r); void v.session.release().catch(() => {}); }, RELEASE_GRACE_MS);
    r.unref();
    this.timers.add(r);
  }
}

const key = (model: string, n: number) => `${model}@${n}`;
