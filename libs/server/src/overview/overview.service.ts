import { Injectable } from '@nestjs/common';
import {
  OVERVIEW_DEFAULT_ORDER,
  OVERVIEW_MAX_RANGE_DAYS,
  type TModelOverview,
  type TOverviewPage,
  type TOverviewSort,
  type ZOverviewQuery,
} from '@modelyard/contracts';
import type { z } from 'zod';
import { authorize, type Principal } from '../auth/principal.js';
import { keyFor, modelNameOf } from '../tenancy/model-key.js';
import { AppError } from '../platform/errors.js';
import { DEFAULT_LATENCY_SLO_MS } from '../alerts/alerts.service.js';
import { quantileMs } from '../serving/rollups.service.js';
import { stepGrid } from './overview-grid.js';
import { OverviewRepository, type OverviewKey, type OverviewRow } from './overview.repository.js';

const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A cursor names its sort and order, so a cursor from another sort is refused instead of skipping rows. */
export function encodeOverviewCursor(sort: TOverviewSort, order: string, key: OverviewKey): string {
  return Buffer.from(JSON.stringify({ s: sort, o: order, v: key.value, id: key.id })).toString('base64url');
}

export function decodeOverviewCursor(cursor: string, sort: TOverviewSort, order: string): OverviewKey {
  const bad = (why: string) => new AppError('VALIDATION_FAILED', `Invalid cursor: ${why}`);
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not one this endpoint gave out');
  }
  if (typeof c !== 'object' || c === null) throw bad('not one this endpoint gave out');
  const { s, o, v, id } = c as Record<string, unknown>;
  if (typeof id !== 'string' || !UUID.test(id)) throw bad('not one this endpoint gave out');
  if (s !== sort || o !== order) throw bad(`it belongs to sort=${String(s)}&order=${String(o)}`);
  if (sort === 'requests' && (typeof v !== 'number' || !Number.isFinite(v))) throw bad('not a count');
  if (sort === 'updated' && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) throw bad('not a time');
  if (sort === 'name' && typeof v !== 'string') throw bad('not a name');
  return { value: v as string | number, id };
}

type Config = {
  production?: { mode?: string; version?: number };
  pilots?: { version?: number }[];
  silent?: { version?: number }[];
};
const versionsOf = (list: { version?: number }[] | undefined) =>
  (list ?? []).map((x) => x.version).filter((n): n is number => typeof n === 'number');

function toOverview(r: OverviewRow, steps: number): TModelOverview {
  const config = (r.deploymentConfig ?? null) as Config | null;
  const pinned = config?.production?.mode === 'pinned' && typeof config.production.version === 'number';
  const requests = new Array<number>(steps).fill(0);
  const errorsPerStep = new Array<number>(steps).fill(0);
  for (const [k, c, e] of r.steps ?? []) {
    // A minute exactly at `to` belongs to the last step.
    const i = Math.min(steps - 1, Math.max(0, k));
    requests[i]! += c;
    errorsPerStep[i]! += e;
  }
  const buckets = r.buckets ?? [];
  return {
    id: r.id,
    name: modelNameOf(r.name),
    description: r.description,
    requiresApproval: r.requiresApproval,
    updatedAt: r.updatedAt.toISOString(),
    latestVersion: r.latestVersion,
    productionVersion: r.productionVersion,
    stagingVersions: r.stagingVersions ?? [],
    aliases: r.aliases ?? {},
    serving: {
      production: pinned ? config!.production!.version! : r.productionVersion,
      pinned,
      pilots: versionsOf(config?.pilots),
      silent: versionsOf(config?.silent),
    },
    latencySloMs: r.latencySloMs ?? DEFAULT_LATENCY_SLO_MS,
    traffic: {
      count: r.requests,
      errors: r.errors,
      errorRate: r.requests ? r.errors / r.requests : null,
      p50Ms: quantileMs(buckets, 0.5),
      p99Ms: quantileMs(buckets, 0.99),
      requests,
      errorsPerStep,
    },
    drift:
      r.driftVersion !== null && r.driftStart
        ? {
            version: r.driftVersion,
            start: r.driftStart.toISOString(),
            rows: r.driftRows ?? 0,
            silent: (r.driftRows ?? 0) > 0 && r.driftSilentRows === r.driftRows,
            status:
              r.driftStatus === 'ok' || r.driftStatus === 'warn' || r.driftStatus === 'drift' ? r.driftStatus : null,
          }
        : null,
    alerts: { firing: r.alertsFiring, silent: r.alertsSilent, messages: r.alertMessages ?? [] },
  };
}

/**
 * What the dashboard's overview and models list show about every model, a page at a time, from one query
 * (OverviewRepository.page). Reading it needs what each of its parts needs on its own (models.read covers
 * metrics.read and drift.read for every role and key scope); an API key with a model allow-list sees only those.
 */
@Injectable()
export class OverviewService {
  constructor(private readonly repo: OverviewRepository) {}

  async page(actor: Principal, q: z.output<typeof ZOverviewQuery>): Promise<TOverviewPage> {
    authorize(actor, 'models.read');
    authorize(actor, 'metrics.read');
    authorize(actor, 'drift.read');
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - DAY_MS);
    if (from > to) throw new AppError('VALIDATION_FAILED', 'from must be before to');
    if (to.getTime() - from.getTime() > OVERVIEW_MAX_RANGE_DAYS * DAY_MS)
      throw new AppError('VALIDATION_FAILED', `The range is at most ${OVERVIEW_MAX_RANGE_DAYS} days`);
    const order = q.order ?? OVERVIEW_DEFAULT_ORDER[q.sort];
    const after = q.cursor ? decodeOverviewCursor(q.cursor, q.sort, order) : undefined;
    const grid = stepGrid(from, to, q.points);
    const rows = await this.repo.page({
      projectId: actor.project?.id ?? null,
      names: actor.modelAllowList.length ? actor.modelAllowList.map((n) => keyFor(actor, n)) : null,
      search: q.search?.trim() || undefined,
      sort: q.sort,
      order,
      after,
      limit: q.limit + 1,
      from,
      to,
      gridStart: grid.start,
      stepMs: grid.stepMs,
    });
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    const nextCursor =
      rows.length > q.limit && last
        ? encodeOverviewCursor(q.sort, order, {
            value: last.sortValue instanceof Date ? last.sortValue.toISOString() : last.sortValue,
            id: last.id,
          })
        : null;
    return {
      items: items.map((r) => toOverview(r, grid.steps)),
      nextCursor,
      from: from.toISOString(),
      to: to.toISOString(),
      start: grid.start.toISOString(),
      stepMs: grid.stepMs,
      steps: grid.steps,
      sort: q.sort,
      order,
    };
  }
}
