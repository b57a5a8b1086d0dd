import { Inject, Injectable, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { CommonConfig } from '@modelyard/config';
import { quantileOf } from '@modelyard/contracts';
import type { Logger } from 'pino';
import { authorize, authorizeModel, type Principal } from '../auth/principal.js';
import { keyFor, modelNameOf } from '../tenancy/model-key.js';
import { AppError } from '../platform/errors.js';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import { RollupsRepository, type RollupDelta } from './rollups.repository.js';

/** Upper bounds (ms) of the latency buckets kept per minute; the last bucket is everything above. */
export const ROLLUP_BUCKETS_MS = [0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 50, 100, 250, 500, 1000, 2500];
const FLUSH_MS = 10_000;

/** The q-quantile of a rollup histogram (see quantileOf in contracts). */
export function quantileMs(buckets: number[], q: number): number | null {
  return quantileOf(buckets, ROLLUP_BUCKETS_MS, q);
}

/** A query's time range: the last hour by default, at most 31 days, `from` not after `to`. */
export function timeRange(q: { from?: string; to?: string }): { from: Date; to: Date } {
  const to = q.to ? new Date(q.to) : new Date();
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 3600_000);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from > to)
    throw new AppError('VALIDATION_FAILED', 'from and to must be ISO times with from <= to');
  if (to.getTime() - from.getTime() > 31 * 24 * 3600_000)
    throw new AppError('VALIDATION_FAILED', 'The range is at most 31 days');
  return { from, to };
}

/**
 * Per-minute rollups for the dashboard: observed in memory on every prediction, written every 10 s as one
 * additive upsert per process (never per request), merged across processes by addition in Postgres.
 */
@Injectable()
export class RollupsService implements OnModuleInit, OnModuleDestroy {
  private pending = new Map<string, RollupDelta>();
  private last: RollupDelta | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: RollupsRepository,
    @Inject(LOGGER) private readonly log: Logger,
    @Optional() @Inject(COMMON_CONFIG) private readonly cfg?: CommonConfig,
  ) {}

  onModuleInit() {
    this.timer = setInterval(() => void this.flush(), (this.cfg?.rollups.flushSeconds ?? FLUSH_MS / 1000) * 1000);
    this.timer.unref();
  }

  async onModuleDestroy() {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  observe(model: string, version: number, role: string, ms: number, failed: boolean, at = Date.now()) {
    const minute = Math.floor(at / 60_000) * 60_000;
    // Traffic comes in runs of one model and version: the last delta is reused without building a key.
    let d: RollupDelta | undefined = this.last ?? undefined;
    if (!d || d.model !== model || d.version !== version || d.role !== role || d.minute.getTime() !== minute) {
      const k = `${model}\u0000${version}\u0000${role}\u0000${minute}`;
      d = this.pending.get(k);
      if (!d) {
        d = {
          model,
          version,
          role,
          minute: new Date(minute),
          count: 0,
          errors: 0,
          sumMs: 0,
          buckets: new Array(ROLLUP_BUCKETS_MS.length + 1).fill(0),
        };
        this.pending.set(k, d);
      }
      this.last = d;
    }
    d.count++;
    if (failed) d.errors++;
    d.sumMs += ms;
    let i = 0;
    while (i < ROLLUP_BUCKETS_MS.length && ms > ROLLUP_BUCKETS_MS[i]!) i++;
    d.buckets[i]!++;
  }

  async flush(): Promise<void> {
    if (!this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.last = null;
    try {
      await this.repo.add(batch);
    } catch (err) {
      // Keep the counts for the next flush rather than lose a minute of traffic to a database blip.
      for (const d of batch) {
        const k = `${d.model}\u0000${d.version}\u0000${d.role}\u0000${d.minute.getTime()}`;
        const cur = this.pending.get(k);
        if (!cur) this.pending.set(k, d);
        else {
          cur.count += d.count;
          cur.errors += d.errors;
          cur.sumMs += d.sumMs;
          d.buckets.forEach((b, i) => {
            cur.buckets[i]! += b;
          });
        }
      }
      this.log.warn({ err }, 'could not write metric rollups; will retry');
    }
  }

  /** Per minute, per version and role: requests, errors, mean and p50/p95/p99 latency in ms. */
  async series(actor: Principal, model: string, q: { from?: string; to?: string; version?: number }) {
    authorize(actor, 'metrics.read');
    model = keyFor(actor, model);
    authorizeModel(actor, model);
    const { from, to } = timeRange(q);
    const rows = await this.repo.range(model, from, to, q.version);
    // An empty series says "no traffic": for a name no model has, that would hide a typo behind a blank chart.
    if (!rows.length && !(await this.repo.modelExists(model)))
      throw new AppError('NOT_FOUND', `Model "${modelNameOf(model)}" not found`);
    return {
      model: modelNameOf(model),
      from: from.toISOString(),
      to: to.toISOString(),
      bucketsMs: ROLLUP_BUCKETS_MS,
      points: rows.map((r) => ({
        minute: r.minute.toISOString(),
        version: r.version,
        role: r.role,
        count: r.count,
        errors: r.errors,
        meanMs: r.count ? Math.round((r.sumMs / r.count) * 1000) / 1000 : null,
        p50Ms: quantileMs(r.buckets, 0.5),
        p95Ms: quantileMs(r.buckets, 0.95),
        p99Ms: quantileMs(r.buckets, 0.99),
        // So a caller can merge minutes into longer steps and still read true quantiles.
        buckets: r.buckets,
      })),
    };
  }
}
