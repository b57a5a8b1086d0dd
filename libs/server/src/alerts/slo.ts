import type { TSloReport } from '@modelyard/contracts';
import { quantileMs, ROLLUP_BUCKETS_MS } from '../serving/rollups.service.js';

/**
 * Requests slower than `sloMs` in a rollup histogram (counts per bucket, upper bounds ROLLUP_BUCKETS_MS, +Inf
 * last): whole buckets above the SLO, plus the share of the bucket holding it that lies above (linear).
 */
export function slowerThan(buckets: number[], sloMs: number): number {
  let slow = 0;
  for (let i = 0; i < buckets.length; i++) {
    const lo = i === 0 ? 0 : ROLLUP_BUCKETS_MS[i - 1]!;
    const hi = ROLLUP_BUCKETS_MS[i];
    const n = buckets[i] ?? 0;
    if (!n) continue;
    if (lo >= sloMs) slow += n;
    else if (hi === undefined)
      slow += n; // +Inf bucket starting below the SLO: count it, to be safe
    else if (hi > sloMs) slow += (n * (hi - sloMs)) / (hi - lo);
  }
  return slow;
}

/** The SLO report from rollup rows (any roles and versions the caller selected). */
export function sloReport(
  rows: { count: number; errors: number; buckets: number[] }[],
  sloMs: number,
  objective: number,
): Omit<TSloReport, 'model' | 'from' | 'to'> {
  const buckets = rows.reduce<number[]>((acc, r) => r.buckets.map((b, i) => b + (acc[i] ?? 0)), []);
  const requests = rows.reduce((a, r) => a + r.count, 0);
  const errors = rows.reduce((a, r) => a + r.errors, 0);
  const slowRequests = Math.round(slowerThan(buckets, sloMs));
  // A request can be both slow and failed: count it once, as bad.
  const bad = Math.min(requests, errors + slowRequests);
  const allowedBad = (1 - objective) * requests;
  const consumed = requests ? (allowedBad > 0 ? bad / allowedBad : null) : null;
  return {
    latencySloMs: sloMs,
    objective,
    requests,
    errors,
    slowRequests,
    goodRatio: requests ? (requests - bad) / requests : null,
    p99Ms: requests ? quantileMs(buckets, 0.99) : null,
    budget: { allowedBad, consumed, remaining: consumed === null ? null : 1 - consumed },
  };
}
