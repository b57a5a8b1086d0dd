import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { CommonConfig } from '@modelyard/config';
import { type Feeds, type Outputs, runVersion, type ServedVersion, SideRunner } from '../engine/index.js';
import type { Logger } from 'pino';
import { authorize, authorizeModel, type Principal } from '../auth/principal.js';
import { keyFor, modelNameOf } from '../tenancy/model-key.js';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import { PredictionLogShipper, type PredictionTrace } from '../predictions/prediction-log.js';
import { classifierView } from './formats/modelyard.format.js';
import { quantileMs, RollupsService, timeRange } from './rollups.service.js';
import { RollupsRepository } from './rollups.repository.js';
import { ComparisonsRepository, type ComparisonDelta } from './comparisons.repository.js';
import { ServingService } from './serving.service.js';

type Delta = ComparisonDelta;

/** How one silent answer compares with production's answer to the same rows. */
export function compareOutputs(prod: ServedVersion, prodOut: Outputs, silent: ServedVersion, silentOut: Outputs) {
  const a = classifierView(prod, prodOut) as { predictions: unknown[]; predictions_prob?: number[][] };
  const b = classifierView(silent, silentOut) as { predictions: unknown[]; predictions_prob?: number[][] };
  const rows = a.predictions.length;
  let labelAgree = 0;
  let probAbsDiffSum = 0;
  let valueAbsDiffSum = 0;
  for (let r = 0; r < rows; r++) {
    const pa = a.predictions[r];
    const pb = b.predictions[r];
    if (typeof pa === 'number' && typeof pb === 'number' && !a.predictions_prob) valueAbsDiffSum += Math.abs(pa - pb);
    if (JSON.stringify(pa) === JSON.stringify(pb)) labelAgree++;
    const qa = a.predictions_prob?.[r];
    const qb = b.predictions_prob?.[r];
    if (qa && qb && qa.length === qb.length)
      probAbsDiffSum += qa.reduce((s, v, i) => s + Math.abs(v - qb[i]!), 0) / qa.length;
  }
  return { rows, labelAgree, probAbsDiffSum, valueAbsDiffSum };
}

/**
 * Silent (shadow) versions: after production has answered, a sampled copy of the request runs on each silent
 * version of the model, at most SILENT_MAX_CONCURRENCY at a time per process, and within a time budget of
 * SILENT_CPU_SHARE of one core (over either, the copy is dropped and counted, never queued: production never
 * waits, and a slow silent version cannot take the cores production needs). Their outputs are never returned and
 * trigger nothing; they are compared with production's, logged as silent, and counted under the role "silent".
 * In the api (SILENT_THREAD, on by default) these runs go to a worker thread at a lower CPU priority
 * (SILENT_THREAD_NICE; engine/side-runner.ts): onnxruntime-node runs a session synchronously on the calling
 * thread, so on the event loop a slow silent version's run held every production request in flight.
 */
@Injectable()
export class ShadowService implements OnModuleInit, OnModuleDestroy {
  private inFlight = 0;
  /** Milliseconds of silent inference still allowed: refilled at SILENT_CPU_SHARE ms per ms, up to one second's worth. */
  private budgetMs: number;
  private budgetAt = Date.now();
  private readonly share: number;
  /** Where silent and pilot-comparison runs go: a low-priority thread, or null for the event loop's thread. */
  private readonly side: SideRunner | null;
  private pending = new Map<string, Delta>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly serving: ServingService,
    private readonly rollups: RollupsService,
    private readonly predictionLog: PredictionLogShipper,
    private readonly comparisons: ComparisonsRepository,
    private readonly latencyRollups: RollupsRepository,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    const limits = (
      cfg as CommonConfig & {
        serving?: { silentCpuShare?: number; silentThread?: boolean; silentThreadNice?: number };
      }
    ).serving;
    this.share = limits?.silentCpuShare ?? 0.05;
    this.budgetMs = this.share * 1000;
    this.side = limits?.silentThread
      ? new SideRunner({ nice: limits.silentThreadNice ?? 19, threads: cfg.onnx.intraOpThreads }, (sv) =>
          this.serving.artifactBytes(sv),
        )
      : null;
  }

  /** A silent or comparison run: its outputs and the milliseconds its session run took (the budget's charge). */
  private async runSide(sv: ServedVersion, feeds: Feeds): Promise<{ outputs: Outputs; ms: number }> {
    // A contained version already runs off the event loop, in its process (the thread would run it unguarded).
    const side = sv.contained ? null : this.side;
    if (side?.isReady(sv)) return side.run(sv, feeds);
    // The thread opens its copy of the version in the background; until it has, copies run here as before.
    if (side) void side.prepare(sv).catch(() => undefined);
    const started = performance.now();
    const outputs = await runVersion(sv, feeds);
    return { outputs, ms: performance.now() - started };
  }

  onModuleInit() {
    this.timer = setInterval(() => void this.flush(), this.cfg.rollups.flushSeconds * 1000);
    this.timer.unref();
  }

  async onModuleDestroy() {
    if (this.timer) clearInterval(this.timer);
    await this.side?.close();
    await this.flush();
  }

  mirror(prod: ServedVersion, feeds: Feeds, prodOut: Outputs, cap: number, logRate: number, trace?: PredictionTrace) {
    const silent = this.serving.state(prod.model)?.silent;
    if (!silent?.length) return;
    for (const s of silent) {
      if (s.version === prod.version || Math.random() >= s.sampleRate) continue;
      if (this.inFlight >= cap || !this.withinBudget()) {
        this.delta(prod.model, s.version).dropped++;
        continue;
      }
      this.inFlight++;
      setImmediate(
        () =>
          void this.runOne(prod, s.version, feeds, prodOut, logRate, trace).finally(() => {
            this.inFlight--;
          }),
      );
    }
  }

  /**
   * A pilot answered: production runs on the same rows afterwards, within the same caps, so a pilot's agreement
   * with production is measured like a silent version's. Production's shadow run is not production traffic: it
   * is in neither the rollups nor the prediction log.
   */
  comparePilot(pilot: ServedVersion, feeds: Feeds, pilotOut: Outputs, cap: number) {
    const production = this.serving.state(pilot.model)?.production;
    if (production === null || production === undefined || production === pilot.version) return;
    if (this.inFlight >= cap || !this.withinBudget()) {
      this.delta(pilot.model, pilot.version).dropped++;
      return;
    }
    this.inFlight++;
    setImmediate(
      () =>
        void this.runProduction(pilot, production, feeds, pilotOut).finally(() => {
          this.inFlight--;
        }),
    );
  }

  private async runProduction(pilot: ServedVersion, production: number, feeds: Feeds, pilotOut: Outputs) {
    const started = process.hrtime.bigint();
    try {
      const prod = await this.serving.resolve(pilot.model, { version: production });
      const run = await this.runSide(prod, feeds);
      this.budgetMs -= run.ms;
      this.count(pilot.model, pilot.version, compareOutputs(prod, run.outputs, pilot, pilotOut));
    } catch (err) {
      this.budgetMs -= Number(process.hrtime.bigint() - started) / 1e6;
      this.log.debug({ err, model: pilot.model, version: production }, 'production run for a pilot comparison failed');
    }
  }

  private count(model: string, version: number, c: ReturnType<typeof compareOutputs>) {
    const d = this.delta(model, version);
    d.count++;
    d.rows += c.rows;
    d.labelAgree += c.labelAgree;
    d.probAbsDiffSum += c.probAbsDiffSum;
    d.valueAbsDiffSum += c.valueAbsDiffSum;
  }

  private async runOne(
    prod: ServedVersion,
    version: number,
    feeds: Feeds,
    prodOut: Outputs,
    logRate: number,
    trace?: PredictionTrace,
  ) {
    const started = process.hrtime.bigint();
    try {
      const sv = await this.serving.resolve(prod.model, { version });
      // The budget and the silent latency count the session run (in the side thread: not its queueing there).
      const { outputs: out, ms } = await this.runSide(sv, feeds);
      this.budgetMs -= ms;
      this.rollups.observe(prod.model, version, 'silent', ms, false);
      this.predictionLog.maybeLog(trace ? 1 : logRate, sv, 'silent', true, feeds, out, ms, trace);
      this.count(prod.model, version, compareOutputs(prod, prodOut, sv, out));
    } catch (err) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.budgetMs -= ms;
      this.rollups.observe(prod.model, version, 'silent', ms, true);
      this.delta(prod.model, version).errors++;
      this.log.debug({ err, model: prod.model, version }, 'silent run failed');
    }
  }

  private withinBudget(): boolean {
    const now = Date.now();
    this.budgetMs = Math.min(this.share * 1000, this.budgetMs + (now - this.budgetAt) * this.share);
    this.budgetAt = now;
    return this.budgetMs > 0;
  }

  private delta(model: string, version: number, minute = Math.floor(Date.now() / 60_000) * 60_000): Delta {
    const k = `${model}\u0000${version}\u0000${minute}`;
    let d = this.pending.get(k);
    if (!d) {
      d = {
        model,
        version,
        minute: new Date(minute),
        count: 0,
        rows: 0,
        labelAgree: 0,
        probAbsDiffSum: 0,
        valueAbsDiffSum: 0,
        errors: 0,
        dropped: 0,
      };
      this.pending.set(k, d);
    }
    return d;
  }

  async flush(): Promise<void> {
    if (!this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.comparisons.add(batch);
    } catch (err) {
      // One statement, so nothing of the batch was written: its counts go back for the next flush.
      for (const d of batch) {
        const cur = this.delta(d.model, d.version, d.minute.getTime());
        for (const k of [
          'count',
          'rows',
          'labelAgree',
          'probAbsDiffSum',
          'valueAbsDiffSum',
          'errors',
          'dropped',
        ] as const)
          cur[k] += d[k];
      }
      this.log.warn({ err }, 'could not write comparison rollups; will retry');
    }
  }

  /** Agreement with production and latency side by side, over a time range (default: the last hour). */
  async comparison(actor: Principal, model: string, version: number, q: { from?: string; to?: string }) {
    authorize(actor, 'models.read');
    model = keyFor(actor, model);
    authorizeModel(actor, model);
    const { from, to } = timeRange(q);
    const cmp = await this.comparisons.range(model, version, from, to);
    const lat = await this.latencyRollups.range(model, from, to);
    const sum = (k: 'count' | 'rows' | 'labelAgree' | 'probAbsDiffSum' | 'valueAbsDiffSum' | 'errors' | 'dropped') =>
      cmp.reduce((a, r) => a + r[k], 0);
    const latency = (rows: typeof lat) => {
      const buckets = rows.reduce<number[]>((acc, r) => r.buckets.map((b, i) => b + (acc[i] ?? 0)), []);
      const count = rows.reduce((a, r) => a + r.count, 0);
      const errors = rows.reduce((a, r) => a + r.errors, 0);
      return {
        count,
        errors,
        errorRate: count ? errors / count : null,
        p50Ms: quantileMs(buckets, 0.5),
        p99Ms: quantileMs(buckets, 0.99),
      };
    };
    const rows = sum('rows');
    return {
      model: modelNameOf(model),
      version,
      from: from.toISOString(),
      to: to.toISOString(),
      compared: sum('count'),
      rows,
      dropped: sum('dropped'),
      errors: sum('errors'),
      labelAgreement: rows ? sum('labelAgree') / rows : null,
      meanProbAbsDiff: rows ? sum('probAbsDiffSum') / rows : null,
      meanValueAbsDiff: rows ? sum('valueAbsDiffSum') / rows : null,
      latency: {
        production: latency(lat.filter((r) => r.role === 'production')),
        candidate: latency(lat.filter((r) => r.version === version && r.role !== 'production')),
      },
    };
  }
}
