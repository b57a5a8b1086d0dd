import { Inject, Injectable, Optional } from '@nestjs/common';
import type { CommonConfig } from '@modelyard/config';
import { authorize, authorizeModel, can, type Principal } from '../auth/principal.js';
import { keyFor } from '../tenancy/model-key.js';
import { AppError } from '../platform/errors.js';
import { pickNumber, ServingService, type VersionSelector } from './serving.service.js';
import { Deadlines } from './deadlines.js';
import { ServingMetrics } from './serving-metrics.js';
import { RateLimiter, type RateLimit } from './rate-limiter.js';
import { PredictionLogShipper, type PredictionTrace } from '../predictions/prediction-log.js';
import { COMMON_CONFIG } from '../platform/tokens.js';
import { ShadowService } from './shadow.service.js';
import { isDeployed } from './served-version.js';
import { type Feeds, InputError, type Outputs, RUN_DROPPED, Runner, type ServedVersion } from '../engine/index.js';

export interface PredictOptions {
  timeoutMs: number;
  /** Output names to fetch (OIP `outputs` filter); all servable outputs when absent. */
  outputs?: string[];
  /** Share of requests whose rows go to the prediction log (drift monitoring). */
  logSampleRate?: number;
  role?: string;
  silent?: boolean;
  /** Silent runs in flight allowed per process (SILENT_MAX_CONCURRENCY); production traffic is mirrored to them. */
  silentCap?: number;
  /** The answer's prediction id and the caller's entity ids and groups, logged for ground truth to join. */
  trace?: PredictionTrace;
}

export interface Selection {
  served: ServedVersion;
  /** Where the answer came from, for the X-Deployment-Role header. */
  role: 'production' | 'pilot' | 'explicit';
}

/**
 * The one path every request format goes through: authorize, pick the version, build nothing itself
 * (adapters turn bodies into feeds with the engine's tensor builder), run it on the engine's Runner within the
 * time budget.
 */
@Injectable()
export class PredictionService {
  private readonly deadlines = new Deadlines();
  /**
   * The engine's runs for this process: MAX_INFLIGHT_RUNS (runs past it wait, and are dropped unstarted once their
   * caller's budget has passed) and micro-batching.
   */
  private readonly runner: Runner;

  constructor(
    private readonly serving: ServingService,
    private readonly metrics: ServingMetrics,
    private readonly limiter: RateLimiter,
    private readonly predictionLog: PredictionLogShipper,
    private readonly shadow: ShadowService,
    @Optional() @Inject(COMMON_CONFIG) cfg?: CommonConfig,
  ) {
    const limits = (cfg as (CommonConfig & { serving?: { maxInflightRuns?: number } }) | undefined)?.serving;
    const max = limits?.maxInflightRuns ?? 4;
    this.runner = new Runner(
      max,
      () => this.metrics.runsDropped.inc(),
      (requests) => this.metrics.observeMergedRun(requests),
    );
  }

  /**
   * Picks the version that answers: an explicit version or alias; else the first pilot that takes this caller
   * (by group membership, or by the sticky hash of the routing key for percentage pilots); else production.
   * Answers without a promise when everything it needs is in memory (the hot path), with one otherwise (a
   * rate-limit lease from Redis, a model or version not loaded yet). Errors are thrown or rejected alike.
   */
  select(
    actor: Principal,
    model: string,
    sel: VersionSelector & { routingKey?: string },
    limit?: RateLimit,
  ): Selection | Promise<Selection> {
    authorize(actor, 'predict');
    model = keyFor(actor, model);
    authorizeModel(actor, model);
    if (limit) {
      const caller = actor.apiKeyId ? `key:${actor.apiKeyId}` : `${actor.kind}:${actor.id}`;
      if (!this.limiter.takeNow(caller, model, limit, actor.project))
        return this.limiter.take(caller, model, limit, actor.project).then(() => this.pick(actor, model, sel));
    }
    return this.pick(actor, model, sel);
  }

  private pick(
    actor: Principal,
    model: string,
    sel: VersionSelector & { routingKey?: string },
  ): Selection | Promise<Selection> {
    const state = this.serving.state(model);
    if (!state) return this.serving.refresh(model).then(() => this.pick(actor, model, sel));
    const explicit = sel.version !== undefined || sel.alias !== undefined;
    const pilot = explicit
      ? null
      : pickPilot(state.pilots, actor, model, sel.routingKey ?? actor.apiKeyId ?? actor.id, Date.now());
    const n = pilot ?? pickNumber(state, sel);
    // A version named by number that nothing deploys would be loaded into this process for this one caller: any
    // predict key could otherwise fill every api replica with archived versions.
    if (sel.version !== undefined && !isDeployed(state, n) && !can(actor, 'predict.anyVersion')) {
      throw new AppError(
        'FORBIDDEN',
        `Version ${n} of ${model} is in no stage (Staging or Production) and behind no alias or deployment; calling it by number needs the predict:any-version scope (scientist role or above)`,
      );
    }
    const role: Selection['role'] =
      pilot !== null ? 'pilot' : explicit && state.production !== n ? 'explicit' : 'production';
    const served = this.serving.loaded(model, n);
    return served ? { served, role } : this.serving.resolve(model, { version: n }).then((sv) => ({ served: sv, role }));
  }

  run(served: ServedVersion, feeds: Feeds, opts: PredictOptions): Promise<Outputs> {
    if (opts.outputs) {
      const unknown = opts.outputs.filter((o) => !served.outputNames.includes(o));
      if (unknown.length)
        return Promise.reject(
          new InputError(
            `Unknown output(s) ${unknown.join(', ')} (the model returns ${served.outputNames.join(', ')})`,
          ),
        );
    }
    const started = performance.now();
    const deadline = started + opts.timeoutMs;
    const microBatch = opts.outputs ? null : this.serving.state(served.model)?.microBatch;
    // A direct run holds a gate slot from start to settle (released in the callbacks below); a waiting one
    // that is dropped never held one.
    let direct = false;
    let session: Promise<Outputs>;
    if (served.contained) {
      // Its own process runs it, one request at a time: it needs no slot of this process's and is never merged.
      session = served.contained.run(feeds, opts.outputs ?? served.outputNames, deadline);
    } else if (microBatch) {
      session = this.runner.batched(served, feeds, microBatch, deadline);
    } else {
      direct = true;
      session = this.runner.direct(served, feeds, opts.outputs ?? served.outputNames, deadline);
    }
    let expired = false;
    const overBudget = () => {
      expired = true;
      this.metrics.timeouts.inc({ model: served.model });
      return new AppError('NOT_READY', `The prediction took longer than its ${opts.timeoutMs} ms budget`, {
        timeout: true,
      });
    };
    return this.deadlines.guard(
      session,
      opts.timeoutMs,
      overBudget,
      (out) => {
        if (direct) this.runner.settled();
        const ms = performance.now() - started;
        this.metrics.observeInference(served.model, served.version, ms / 1000);
        const logged = this.predictionLog.maybeLog(
          opts.logSampleRate ?? 0,
          served,
          opts.role ?? 'production',
          opts.silent ?? false,
          feeds,
          out,
          ms,
          opts.trace,
        );
        // Silent versions see a copy of production traffic only, and only after production has its answer. When
        // production's rows were logged, the silent copy's are too, under the same prediction id, so a label
        // scores both.
        if ((opts.role ?? 'production') === 'production' && !opts.outputs)
          this.shadow.mirror(
            served,
            feeds,
            out,
            opts.silentCap ?? 2,
            opts.logSampleRate ?? 0,
            logged ? opts.trace : undefined,
          );
        else if (opts.role === 'pilot' && !opts.outputs)
          this.shadow.comparePilot(served, feeds, out, opts.silentCap ?? 2);
        return out;
      },
      (e) => {
        // Dropped before it started: the 503 of the budget (once, whether the timer or the drop came first).
        if (e === RUN_DROPPED) return expired ? e : overBudget();
        if (direct) this.runner.settled();
        if (e instanceof AppError) return e;
        // onnxruntime rejects shapes/types it cannot take: that is the caller's input, not our failure.
        return new InputError(
          `The model could not run on this input: ${String((e as Error).message)
            .replace(/^.*?\] /, '')
            .slice(0, 300)}`,
        );
      },
    );
  }
}

/** FNV-1a: a cheap, stable hash, so one routing key always lands in the same bucket of a model. */
export function stickyBucket(model: string, routingKey: string): number {
  let h = 0x811c9dc5;
  const s = `${model}\u0000${routingKey}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 10_000;
}

/**
 * Group pilots first (in order), then percentage pilots on disjoint slices of the 10,000 buckets, so two
 * percentage pilots never share a caller and a caller keeps its pilot as long as the configuration holds.
 */
export function pickPilot(
  pilots: { version: number; groups: string[]; percentage: number; startsAt: number | null; endsAt: number | null }[],
  actor: Principal,
  model: string,
  routingKey: string,
  now: number,
): number | null {
  if (!pilots.length) return null;
  const active = pilots.filter(
    (p) => (p.startsAt === null || p.startsAt <= now) && (p.endsAt === null || now < p.endsAt),
  );
  for (const p of active) if (p.groups.length && actor.groups.some((g) => p.groups.includes(g.id))) return p.version;
  const bucket = stickyBucket(model, routingKey);
  let from = 0;
  for (const p of active) {
    if (p.percentage <= 0) continue;
    const to = from + Math.round(p.percentage * 100);
    if (bucket >= from && bucket < to) return p.version;
    from = to;
  }
  return null;
}
