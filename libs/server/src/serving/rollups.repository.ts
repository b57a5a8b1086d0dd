import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';

export interface RollupDelta {
  model: string;
  version: number;
  role: string;
  minute: Date;
  count: number;
  errors: number;
  sumMs: number;
  buckets: number[];
}

@Injectable()
export class RollupsRepository {
  constructor(private readonly db: PrismaService) {}

  /** Adds each delta to its row (element-wise for the histogram), creating rows as needed, in one statement. */
  async add(deltas: RollupDelta[]): Promise<void> {
    if (!deltas.length) return;
    const rows = JSON.stringify(deltas.map((d) => ({ ...d, minute: d.minute.toISOString() })));
    await this.db.client.$executeRaw`
      INSERT INTO "MetricRollup" ("model", "version", "role", "minute", "count", "errors", "sumMs", "buckets")
      SELECT r.model, r.version, r.role, r.minute, r.count, r.errors, r."sumMs", ARRAY(SELECT jsonb_array_elements_text(r.buckets)::int)
      FROM jsonb_to_recordset(${rows}::jsonb) AS r(model text, version int, role text, minute timestamp(3), count int, errors int, "sumMs" float8, buckets jsonb)
      ON CONFLICT ("model", "version", "role", "minute") DO UPDATE SET
        "count" = "MetricRollup"."count" + EXCLUDED."count",
        "errors" = "MetricRollup"."errors" + EXCLUDED."errors",
        "sumMs" = "MetricRollup"."sumMs" + EXCLUDED."sumMs",
        "buckets" = ARRAY(SELECT a + b FROM unnest("MetricRollup"."buckets", EXCLUDED."buckets") AS u(a, b))`;
  }

  async modelExists(model: string): Promise<boolean> {
    return (await this.db.client.registeredModel.findUnique({ where: { name: model }, select: { id: true } })) !== null;
  }

  range(model: string, from: Date, to: Date, version?: number) {
    return this.db.client.metricRollup.findMany({
      where: { model, version, minute: { gte: from, lte: to } },
      orderBy: [{ minute: 'asc' }, { version: 'asc' }, { role: 'asc' }],
      take: 50_000,
    });
  }
}
