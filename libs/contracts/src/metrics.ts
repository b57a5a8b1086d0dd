import { z } from 'zod';

/**
 * The q-quantile of a bucketed latency histogram (counts per bucket, `boundsMs` the upper bounds, one more
 * bucket for everything above), interpolated linearly inside the bucket it falls in. The api's rollups and the
 * dashboard's merged steps read quantiles the same way.
 */
export function quantileOf(buckets: number[], boundsMs: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (n && seen + n >= rank) {
      const lo = i === 0 ? 0 : boundsMs[i - 1]!;
      const hi = boundsMs[i] ?? boundsMs[boundsMs.length - 1]! * 2;
      return Math.round((lo + ((rank - seen) / n) * (hi - lo)) * 1000) / 1000;
    }
    seen += n;
  }
  return boundsMs[boundsMs.length - 1] ?? null;
}

/** Who answered a request, as the rollups count it (`X-Deployment-Role`, plus `silent` for shadow copies). */
export const ROLLUP_ROLES = ['production', 'pilot', 'explicit', 'silent'] as const;

export const ZMetricSeriesQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  version: z.coerce.number().int().min(1).optional(),
});
export type TMetricSeriesQuery = z.input<typeof ZMetricSeriesQuery>;

/** One minute of one version in one role: counts, and the latency histogram the quantiles were read from. */
export const ZMetricPoint = z.object({
  minute: z.string(),
  version: z.number().int(),
  role: z.string(),
  count: z.number(),
  errors: z.number(),
  meanMs: z.number().nullable(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  /** Counts per latency bucket (upper bounds in `bucketsMs`, the last one open): minutes add up by bucket. */
  buckets: z.array(z.number()),
});
export type TMetricPoint = z.infer<typeof ZMetricPoint>;

/** `GET /v1/models/{name}/metrics?from&to&version`: per-minute rollups, merged across api processes. */
export const ZMetricSeries = z.object({
  model: z.string(),
  from: z.string(),
  to: z.string(),
  bucketsMs: z.array(z.number()),
  points: z.array(ZMetricPoint),
});
export type TMetricSeries = z.infer<typeof ZMetricSeries>;
