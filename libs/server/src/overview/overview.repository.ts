import { Injectable } from '@nestjs/common';
import type { TOverviewSort } from '@modelyard/contracts';
import { PrismaService } from '../db/prisma.service.js';
import { Prisma } from '../db/generated/client.js';

/** Where the previous page ended: the sort value of its last row and that row's id (the tie-breaker). */
export interface OverviewKey {
  value: string | number;
  id: string;
}

export interface OverviewPageQuery {
  /** Only this project's models (null: every project's). */
  projectId: string | null;
  /** Only these model keys (an API key's allow-list); every model when null. */
  names: string[] | null;
  search?: string;
  sort: TOverviewSort;
  order: 'asc' | 'desc';
  after?: OverviewKey;
  limit: number;
  /** The traffic range and its step grid. */
  from: Date;
  to: Date;
  gridStart: Date;
  stepMs: number;
}

/** One row of the aggregated query: a model with everything the overview shows about it. */
export interface OverviewRow {
  id: string;
  name: string;
  description: string;
  requiresApproval: boolean;
  updatedAt: Date;
  /** The sort value of this row, for the next page's cursor. */
  sortValue: string | number | Date;
  latestVersion: number | null;
  productionVersion: number | null;
  stagingVersions: number[] | null;
  aliases: Record<string, number> | null;
  deploymentConfig: unknown;
  latencySloMs: number | null;
  alertsFiring: number;
  alertsSilent: number;
  alertMessages: string[] | null;
  driftVersion: number | null;
  driftStart: Date | null;
  driftRows: number | null;
  driftSilentRows: number | null;
  driftStatus: string | null;
  requests: number;
  errors: number;
  /** Latency bucket counts summed over the range (served requests only). */
  buckets: number[] | null;
  /** Sparse: [step index, requests, errors] for the steps that had traffic. */
  steps: [number, number, number][] | null;
}

/** `%` and `_` are wildcards to ILIKE: a search for "a_b" means those three characters. */
const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const ts = (d: Date) => Prisma.sql`${d.toISOString()}::timestamp(3)`;

@Injectable()
export class OverviewRepository {
  constructor(private readonly db: PrismaService) {}

  /**
   * One statement for a whole page: the models the caller may see, sorted and cut at the cursor in Postgres
   * (so an allow-list never leaves a page short), then per model its versions, aliases, current deployment,
   * SLO, firing alerts, newest drift window and the range's rollups merged into steps. Every lookup is by
   * an indexed key of the page's models, so the cost grows with the page size, not with the registry.
   */
  async page(q: OverviewPageQuery): Promise<OverviewRow[]> {
    const from = ts(q.from);
    const to = ts(q.to);
    const where: Prisma.Sql[] = [];
    if (q.projectId) where.push(Prisma.sql`m."projectId" = ${q.projectId}::uuid`);
    if (q.names) where.push(Prisma.sql`m."name" = ANY(${q.names}::text[])`);
    if (q.search) {
      const p = likePattern(q.search);
      where.push(Prisma.sql`(m."name" ILIKE ${p} OR m."description" ILIKE ${p})`);
    }
    const filtered = where.length ? Prisma.sql`WHERE ${Prisma.join(where, ' AND ')}` : Prisma.empty;
    // Sorting by requests needs every visible model's total first (one GROUP BY over the range's rollups).
    const sortExpr =
      q.sort === 'name'
        ? Prisma.sql`b."name"`
        : q.sort === 'updated'
          ? Prisma.sql`b."updatedAt"`
          : Prisma.sql`COALESCE(t."n", 0)`;
    const totals =
      q.sort === 'requests'
        ? Prisma.sql`LEFT JOIN (
            SELECT r."model", sum(r."count")::float8 AS "n" FROM "MetricRollup" r
            WHERE r."minute" >= ${from} AND r."minute" <= ${to} AND r."role" <> 'silent'
              AND r."model" IN (SELECT "name" FROM base)
            GROUP BY r."model"
          ) t ON t."model" = b."name"`
        : Prisma.empty;
    const dir = q.order === 'asc' ? Prisma.sql`ASC` : Prisma.sql`DESC`;
    let keyset = Prisma.empty;
    if (q.after) {
      const v =
        q.sort === 'name'
          ? Prisma.sql`${String(q.after.value)}::text`
          : q.sort === 'updated'
            ? ts(new Date(q.after.value))
            : Prisma.sql`${Number(q.after.value)}::float8`;
      const cmp = q.order === 'asc' ? Prisma.sql`>` : Prisma.sql`<`;
      keyset = Prisma.sql`WHERE (s."sortValue", s."id") ${cmp} (${v}, ${q.after.id}::uuid)`;
    }
    const stepSeconds = q.stepMs / 1000;

    return this.db.client.$queryRaw<OverviewRow[]>`
      WITH base AS (
        SELECT m."id", m."name", m."description", m."requiresApproval", m."updatedAt"
        FROM "RegisteredModel" m ${filtered}
      ),
      sorted AS (
        SELECT b.*, ${sortExpr} AS "sortValue" FROM base b ${totals}
      ),
      page AS (
        SELECT s.* FROM sorted s ${keyset}
        ORDER BY s."sortValue" ${dir}, s."id" ${dir}
        LIMIT ${q.limit}
      ),
      roll AS (
        SELECT r."model",
               floor(extract(epoch FROM r."minute" - ${ts(q.gridStart)})::float8 / ${stepSeconds}::float8)::int AS "k",
               r."count", r."errors", r."buckets"
        FROM "MetricRollup" r JOIN page p ON p."name" = r."model"
        WHERE r."minute" >= ${from} AND r."minute" <= ${to} AND r."role" <> 'silent'
      ),
      steps AS (
        SELECT "model", "k", sum("count")::float8 AS "c", sum("errors")::float8 AS "e" FROM roll GROUP BY "model", "k"
      ),
      hist AS (
        SELECT roll."model", u."i", sum(u."b")::float8 AS "n"
        FROM roll, unnest(roll."buckets") WITH ORDINALITY AS u("b", "i")
        GROUP BY roll."model", u."i"
      )
      SELECT p."id", p."name", p."description", p."requiresApproval", p."updatedAt", p."sortValue",
        v."latestVersion", v."productionVersion", v."stagingVersions",
        (SELECT jsonb_object_agg(a."name", av."number") FROM "ModelAlias" a
           JOIN "ModelVersion" av ON av."id" = a."versionId" WHERE a."modelId" = p."id") AS "aliases",
        (SELECT dr."config" FROM "Deployment" d
           JOIN "DeploymentRevision" dr ON dr."deploymentId" = d."id" AND dr."number" = d."currentRevision"
           WHERE d."modelId" = p."id") AS "deploymentConfig",
        (SELECT ars."latencySloMs" FROM "AlertRuleSet" ars WHERE ars."modelId" = p."id") AS "latencySloMs",
        al."firing" AS "alertsFiring", al."silent" AS "alertsSilent", al."messages" AS "alertMessages",
        dw."number" AS "driftVersion", dw."start" AS "driftStart", dw."rows" AS "driftRows",
        dw."silentRows" AS "driftSilentRows", dw."status" AS "driftStatus",
        COALESCE((SELECT sum(st."c") FROM steps st WHERE st."model" = p."name"), 0)::float8 AS "requests",
        COALESCE((SELECT sum(st."e") FROM steps st WHERE st."model" = p."name"), 0)::float8 AS "errors",
        (SELECT array_agg(h."n" ORDER BY h."i") FROM hist h WHERE h."model" = p."name") AS "buckets",
        (SELECT jsonb_agg(jsonb_build_array(st."k", st."c", st."e") ORDER BY st."k") FROM steps st
           WHERE st."model" = p."name") AS "steps"
      FROM page p
      CROSS JOIN LATERAL (
        SELECT max(mv."number") AS "latestVersion",
               max(mv."number") FILTER (WHERE mv."stage" = 'Production') AS "productionVersion",
               array_agg(mv."number" ORDER BY mv."number" DESC) FILTER (WHERE mv."stage" = 'Staging')
                 AS "stagingVersions"
        FROM "ModelVersion" mv WHERE mv."modelId" = p."id"
      ) v
      CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE NOT x."silent")::int AS "firing",
               count(*) FILTER (WHERE x."silent")::int AS "silent",
               (array_agg(x."message" ORDER BY x."firedAt" DESC) FILTER (WHERE NOT x."silent"))[1:5] AS "messages"
        FROM "Alert" x WHERE x."modelName" = p."name" AND x."state" = 'firing'
      ) al
      LEFT JOIN LATERAL (
        SELECT w."number", w."start", w."rows", w."silentRows", w."status" FROM "DriftWindowRow" w
        WHERE w."model" = p."name" AND w."number" = COALESCE(
          v."productionVersion",
          (SELECT dp."number" FROM "DriftProfile" dp WHERE dp."model" = p."name" ORDER BY dp."number" DESC LIMIT 1),
          v."latestVersion")
        ORDER BY w."start" DESC LIMIT 1
      ) dw ON true
      ORDER BY p."sortValue" ${dir}, p."id" ${dir}`;
  }
}
