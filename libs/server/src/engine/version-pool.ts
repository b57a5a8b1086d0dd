import type { Logger } from 'pino';
import type { TSignature } from '@modelyard/contracts';
import { verifiedArtifact } from './artifact-cache.js';
import { decodeOnnxModel } from '../onnx/onnx-model.js';
import { unboundedWork } from '../onnx/onnx-work.js';
import { ContainedSession, type ContainmentLimits } from './contained-session.js';
import { pickEvictions } from './eviction.js';
import type { Feeds, Session } from './ort.js';
import { openServedSession } from './session.js';
import { warmFeeds } from './tensors.js';

/** One loaded, warmed version: the unit the engine runs. Immutable once built; swapped, never mutated. */
export interface ServedVersion {
  model: string;
  version: number;
  versionId: string;
  signature: TSignature;
  session: Session;
  /**
   * The session again when it runs in a process of its own (its work can grow with a request's values,
   * ../onnx/onnx-work.ts, or one run took over SLOW_RUN_MS here; `contained.why` says which), else null. A contained
   * run leaves this process's cores and event loop alone: it takes no run slot and is not merged with others, and
   * batch jobs and silent copies run it there too.
   */
  contained: ContainedSession | null;
  /** Output names the session can return (never a ZipMap seq(map)). */
  outputNames: string[];
  labelOutput: string | null;
  probabilityOutput: string | null;
  loadedAt: number;
  loadMs: number;
}

/** What the pool needs to know about a version to load it (the registry's row, checked as servable). */
export interface VersionSource {
  versionId: string;
  signature: TSignature;
  /** The served artifact (the upload, or its ZipMap-stripped copy) and the SHA-256 it must have (null: unknown). */
  uri: string;
  sha256: string | null;
  /** Sample rows the version is warmed with; null: a row of zeros where the signature allows one. */
  samples: unknown[] | null;
}

export interface VersionPoolOptions {
  /** MODEL_CACHE_DIR: verified copies of served artifacts. */
  cacheDir: string;
  /** SERVING_MAX_LOADED_MB: artifact bytes held loaded, beyond which unpinned versions are unloaded. */
  maxLoadedMb: number;
  /** ORT_INTRA_OP_THREADS per session. */
  intraOpThreads: number;
  /** VALIDATION_MEMORY_MB and VALIDATION_TIMEOUT_SECONDS: what a contained version's process may use. */
  contained: ContainmentLimits;
}

/** What the pool asks of its owner: the registry's facts, storage, and which versions must stay. */
export interface VersionPoolHooks {
  /** The version's row as a source; throws the AppError a caller should see when it cannot be served. */
  describe(model: string, n: number): Promise<VersionSource>;
  /** The artifact's bytes from storage. */
  download(uri: string): Promise<Buffer>;
  /** Deployed versions (production, alias, pilot, silent) are never unloaded for the cap or for idling. */
  pinned(model: string, n: number): boolean;
  /** A version finished loading (metrics). */
  loaded?(model: string, n: number, ms: number): void;
}

/** Why a version must run contained (../onnx/onnx-work.ts), or null; a graph this cannot read is contained too. */
function containmentReason(bytes: Uint8Array): string | null {
  try {
    return unboundedWork(decodeOnnxModel(bytes));
  } catch (e) {
    return `its graph could not be read here (${(e as Error).message})`;
  }
}

/**
 * A version whose warm-up run took longer than this on the event loop is reopened contained. A model can be bounded
 * by its graph (../onnx/onnx-work.ts) and still need seconds per run by itself (large constant shapes); each of its
 * runs here would hold every request of the process that long. Its one warm-up run is the only such stall.
 */
export const SLOW_RUN_MS = 1000;

/**
 * How long one run of an in-process session took (and its error, if it failed), its own time: onnxruntime-node runs a session in the immediate its
 * run() queues, and the one queued here just before runs right before it. So work queued ahead of it (other versions
 * loading at once: boot loads them all) is not counted.
 */
export async function timedRun(
  session: Session,
  feeds: Feeds,
  outputs: readonly string[],
): Promise<{ ms: number; failed?: unknown }> {
  let began = performance.now();
  setImmediate(() => {
    began = performance.now();
  });
  try {
    await session.run(feeds, outputs);
    return { ms: performance.now() - began };
  } catch (failed) {
    return { ms: performance.now() - began, failed };
  }
}

/** Versions not asked for in this long (and not pinned) are unloaded. */
export const IDLE_UNLOAD_MS = 10 * 60_000;
/** A replaced session is released only after in-flight requests on it have had time to finish. */
const RELEASE_GRACE_MS = 30_000;

const key = (model: string, n: number) => `${model}@${n}`;
const parse = (k: string): [string, number] => {
  const at = k.lastIndexOf('@');
  return [k.slice(0, at), Number(k.slice(at + 1))];
};

/**
 * The loaded versions of one process: each loaded once however many callers ask at the same time, from the
 * verified artifact cache, in an isolated session, warmed before anyone sees it; unloaded when idle, when
 * dropped from its model, or least recently used first past SERVING_MAX_LOADED_MB. Which version answers a
 * request is not its business (ServingService decides); it only holds what it is asked to hold.
 */
export class VersionPool {
  private readonly versions = new Map<string, ServedVersion>();
  private readonly loading = new Map<string, Promise<ServedVersion>>();
  private readonly lastUsed = new Map<string, number>();
  /** Artifact bytes of each loaded version (SERVING_MAX_LOADED_MB). */
  private readonly sizes = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: VersionPoolOptions,
    private readonly hooks: VersionPoolHooks,
    private readonly log: Logger,
  ) {}

  /** A loaded version, marked as used; undefined when it must be loaded first. The hot path: no allocation. */
  get(model: string, n: number): ServedVersion | undefined {
    const k = key(model, n);
    const sv = this.versions.get(k);
    if (sv) this.lastUsed.set(k, Date.now());
    return sv;
  }

  has(model: string, n: number): boolean {
    return this.versions.has(key(model, n));
  }

  isLoading(model: string, n: number): boolean {
    return this.loading.has(key(model, n));
  }

  get size(): number {
    return this.versions.size;
  }

  /** The loaded version, or loads it (once, however many callers wait for it). */
  load(model: string, n: number): Promise<ServedVersion> {
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

  /** Versions of `model` outside `wanted` (deleted, archived without alias) are unloaded once idle long enough. */
  retire(model: string, wanted: ReadonlySet<number>) {
    for (const k of this.versions.keys()) {
      const [m, n] = parse(k);
      if (m === model && !wanted.has(n)) this.scheduleRelease(k, IDLE_UNLOAD_MS);
    }
  }

  /** Starts the idle sweep (every minute). */
  start() {
    this.sweeper = setInterval(() => this.sweepIdle(), 60_000);
    this.sweeper.unref();
  }

  async close() {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const t of this.timers) clearTimeout(t);
    await Promise.allSettled([...this.versions.values()].map((v) => v.session.release()));
    this.versions.clear();
  }

  private async loadNow(model: string, n: number): Promise<ServedVersion> {
    const started = Date.now();
    const src = await this.hooks.describe(model, n);
    const bytes = await this.artifactBytes(src.uri, src.sha256);
    let served = await this.open(model, n, src, bytes, containmentReason(bytes));
    const warmMs = await this.warm(served, src.samples);
    if (!served.contained && warmMs > SLOW_RUN_MS) {
      const why = `its warm-up run took ${Math.round(warmMs)} ms in this process, over ${SLOW_RUN_MS} ms`;
      const slow = served.session;
      served = await this.open(model, n, src, bytes, why);
      void slow.release().catch(() => {});
      await this.warm(served, src.samples);
    }
    served.loadMs = Date.now() - started;
    this.hooks.loaded?.(model, n, served.loadMs);
    const k = key(model, n);
    this.versions.set(k, served);
    this.lastUsed.set(k, Date.now());
    this.sizes.set(k, bytes.length);
    this.log.info({ model, version: n, ms: served.loadMs, contained: served.contained?.why }, 'version loaded');
    this.evictOverCap(k);
    return served;
  }

  /** Opens `bytes` in this process, or in a process of its own when `contain` says why. */
  private async open(
    model: string,
    n: number,
    src: VersionSource,
    bytes: Uint8Array,
    contain: string | null,
  ): Promise<ServedVersion> {
    const threads = this.opts.intraOpThreads;
    const contained = contain ? await ContainedSession.open(bytes, threads, this.opts.contained, contain) : null;
    const session = contained ?? (await openServedSession(bytes, threads));
    return {
      model,
      version: n,
      versionId: src.versionId,
      signature: src.signature,
      session,
      contained,
      outputNames: src.signature.outputs.map((o) => o.name).filter((o) => session.outputNames.includes(o)),
      labelOutput: src.signature.labelOutput ?? null,
      probabilityOutput: src.signature.probabilityOutput ?? null,
      loadedAt: Date.now(),
      loadMs: 0,
    };
  }

  /**
   * Runs the sample rows (or one synthetic row) so the first real request does not pay for lazy init; how long the
   * run took, in ms (0 without one).
   */
  private async warm(sv: ServedVersion, samples: unknown[] | null): Promise<number> {
    let feeds: Feeds | null;
    try {
      feeds = warmFeeds(sv.signature, samples);
    } catch (err) {
      feeds = null;
      this.log.warn({ err, model: sv.model, version: sv.version }, 'no warm-up rows; serving anyway');
    }
    if (!feeds) return 0;
    const run = await timedRun(sv.session, feeds, sv.outputNames);
    if (run.failed)
      this.log.warn({ err: run.failed, model: sv.model, version: sv.version }, 'warm-up run failed; serving anyway');
    return run.ms;
  }

  /** A version's served bytes, as loadNow reads them (the verified local copy): for a second session elsewhere. */
  async artifact(model: string, n: number): Promise<Buffer> {
    const src = await this.hooks.describe(model, n);
    return this.artifactBytes(src.uri, src.sha256);
  }

  /** Served bytes from the local cache or from storage, verified against their checksum (./artifact-cache.ts). */
  private artifactBytes(uri: string, sha256: string | null): Promise<Buffer> {
    const warn = (msg: string) => this.log.warn({ uri }, msg);
    return verifiedArtifact(this.opts.cacheDir, uri, sha256, () => this.hooks.download(uri), warn);
  }

  /**
   * Keeps the artifacts this process holds within SERVING_MAX_LOADED_MB: least recently used first, never a
   * pinned version (stage, production, alias, pilot, silent), never the one just loaded.
   */
  private evictOverCap(justLoaded: string) {
    const loaded = [...this.versions.keys()].map((k) => {
      const [model, n] = parse(k);
      const bytes = this.sizes.get(k) ?? 0;
      return { key: k, bytes, lastUsed: this.lastUsed.get(k) ?? 0, deployed: this.hooks.pinned(model, n) };
    });
    for (const k of pickEvictions(loaded, this.opts.maxLoadedMb * 1024 * 1024, justLoaded)) {
      this.log.info({ version: k }, 'unloading the least recently used version (SERVING_MAX_LOADED_MB)');
      this.unload(k);
    }
  }

  private sweepIdle() {
    const now = Date.now();
    for (const k of this.versions.keys()) {
      const [model, n] = parse(k);
      const idle = now - (this.lastUsed.get(k) ?? 0) > IDLE_UNLOAD_MS;
      if (idle && !this.hooks.pinned(model, n)) this.scheduleRelease(k, 0);
    }
  }

  private scheduleRelease(k: string, afterMs: number) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      const [model, n] = parse(k);
      if (this.hooks.pinned(model, n)) return;
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
    const r = setTimeout(() => {
      this.timers.delete(r);
      void v.session.release().catch(() => {});
    }, RELEASE_GRACE_MS);
    r.unref();
    this.timers.add(r);
  }
}
