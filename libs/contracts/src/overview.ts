import { z } from 'zod';
import { pageOf } from './auth.js';

/**
 * `GET /v1/overview`: every model the caller may read with what the dashboard's overview and models list show,
 * a page at a time, from one aggregated query (issue 23: the overview used to ask four questions per model).
 */

/** What the pages sort by: `updated` (newest first), `name` (A to Z), `requests` (busiest first, over the range). */
export const OVERVIEW_SORTS = ['updated', 'name', 'requests'] as const;
export type TOverviewSort = (typeof OVERVIEW_SORTS)[number];
/** The default direction of each sort; `order` reverses it. */
export const OVERVIEW_DEFAULT_ORDER = { updated: 'desc', name: 'asc', requests: 'desc' } as const;

/** The most steps a traffic series has: the step grows with the range so the answer stays small. */
export const OVERVIEW_MAX_POINTS = 500;
/** The longest range, as for the per-minute metrics (`GET /v1/models/{name}/metrics`). */
export const OVERVIEW_MAX_RANGE_DAYS = 31;

export const ZOverviewQuery = z.object({
  search: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** The `nextCursor` of the previous page; only valid with the same sort and order. */
  cursor: z.string().max(600).optional(),
  sort: z.enum(OVERVIEW_SORTS).default('updated'),
  order: z.enum(['asc', 'desc']).optional(),
  /** The traffic range: the last 24 hours by default, at most 31 days. */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /**
   * The most steps per series: the step is the shortest of 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h or whole
   * days that covers the range in at most this many steps.
   */
  points: z.coerce.number().int().min(1).max(OVERVIEW_MAX_POINTS).default(48),
});
export type TOverviewQuery = z.input<typeof ZOverviewQuery>;

export const ZModelOverview = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  requiresApproval: z.boolean(),
  updatedAt: z.string(),
  latestVersion: z.number().int().nullable(),
  /** The version in the Production stage (what `production.mode = stage` serves). */
  productionVersion: z.number().int().nullable(),
  stagingVersions: z.array(z.number().int()),
  aliases: z.record(z.string(), z.number().int()),
  /** What answers callers: the deployment's pinned version or the Production stage, its pilots and silent copies. */
  serving: z.object({
    production: z.number().int().nullable(),
    pinned: z.boolean(),
    pilots: z.array(z.number().int()),
    silent: z.array(z.number().int()),
  }),
  /** From the model's alert rules (300 ms without any). */
  latencySloMs: z.number(),
  /**
   * Requests callers sent over the range (production, pilot and explicit versions; silent copies are not
   * requests), errors, quantiles read from the merged latency histogram, and per step of the page's grid
   * (`start`, `stepMs`, `steps`) the requests and errors: `requests[i]` is the step starting at start + i x stepMs.
   */
  traffic: z.object({
    count: z.number(),
    errors: z.number(),
    errorRate: z.number().nullable(),
    p50Ms: z.number().nullable(),
    p99Ms: z.number().nullable(),
    requests: z.array(z.number()),
    errorsPerStep: z.array(z.number()),
  }),
  /** The newest drift window of the Production version (else the newest profiled, else the newest version). */
  drift: z
    .object({
      version: z.number().int(),
      start: z.string(),
      rows: z.number().int(),
      silent: z.boolean(),
      /** null while the window has no report yet. */
      status: z.enum(['ok', 'warn', 'drift']).nullable(),
    })
    .nullable(),
  /** Firing alerts: served versions' and silent versions' (stored, never delivered), with the newest messages. */
  alerts: z.object({ firing: z.number().int(), silent: z.number().int(), messages: z.array(z.string()) }),
});
export type TModelOverview = z.infer<typeof ZModelOverview>;

export const ZOverviewPage = pageOf(ZModelOverview).extend({
  from: z.string(),
  to: z.string(),
  /** The grid every item's `requests` and `errorsPerStep` share: steps of stepMs from start (aligned to stepMs). */
  start: z.string(),
  stepMs: z.number().int(),
  steps: z.number().int(),
  sort: z.enum(OVERVIEW_SORTS),
  order: z.enum(['asc', 'desc']),
});
export type TOverviewPage = z.infer<typeof ZOverviewPage>;
