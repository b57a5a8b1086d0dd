import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';

export interface ComparisonDelta {
  model: string;
  version: number;
  minute: Date;
  count: number;
  rows: number;
  labelAgree: number;
  probAbsDiffSum: number;
  valueAbsDiffSum: number;
  errors: number;
  dropped: number;
}

@Injectable()
export class ComparisonsRepository {
  constructor(private readonly db: PrismaService) {}

  /** Adds each delta to its (model, version, minute) row in one statement, so api processes add up. */
  async add(deltas: ComparisonDelta[]): Promise<void> {
    if (!deltas.length) return;
    const rows = JSON.stringify(deltas.map((d) => ({ ...d, minute: d.minute.toISOString() })));
    await this.db.client.$executeRaw`
      INSERT INTO "ComparisonRollup" ("model", "version", "minute", "count", "rows", "labelAgree", "probAbsDiffSum", "valueAbsDiffSum", "errors", "dropped")
      SELECT r.model, r.version, r.minute, r.count, r.rows, r."labelAgree", r."probAbsDiffSum", r."valueAbsDiffSum", r.errors, r.dropped
      FROM jsonb_to_recordset(${rows}::jsonb) AS r(model text, version int, minute timestamp(3), count int, rows int, "labelAgree" int, "probAbsDiffSum" float8, "valueAbsDiffSum" float8, errors int, dropped int)
      ON CONFLICT ("model", "version", "minute") DO UPDATE SET
        "count" = "ComparisonRollup"."count" + EXCLUDED."count", "rows" = "ComparisonRollup"."rows" + EXCLUDED."rows",
        "labelAgree" = "ComparisonRollup"."labelAgree" + EXCLUDED."labelAgree",
        "probAbsDiffSum" = "ComparisonRollup"."probAbsDiffSum" + EXCLUDED."probAbsDiffSum",
        "valueAbsDiffSum" = "ComparisonRollup"."valueAbsDiffSum" + EXCLUDED."valueAbsDiffSum",
        "errors" = "ComparisonRollup"."errors" + EXCLUDED."errors", "dropped" = "ComparisonRollup"."dropped" + EXCLUDED."dropped"`;
  }

  range(model: string, version: number, from: Date, to: Date) {
    return this.db.client.comparisonRollup.findMany({
      where: { model, version, minute: { gte: from, lte: to } },
      orderBy: { minute: 'asc' },
    });
  }
}
