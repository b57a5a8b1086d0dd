import type { TStreamOptions } from '@modelyard/contracts';
import { feedsFromRecords, InputError, type ServedVersion } from '../engine/index.js';
import { SYSTEM } from '../auth/principal.js';
import { classifierView } from '../serving/formats/modelyard.format.js';
import { pickPilot, PredictionService } from '../serving/prediction.service.js';
import { pickNumber, ServingService } from '../serving/serving.service.js';
import type { StreamRecord } from './stream-port.js';

const NO_LIMIT = { maxRows: Number.MAX_SAFE_INTEGER };
/** A run of a batch gets this long; past it the batch is retried like any other transient failure. */
const RUN_TIMEOUT_MS = 30_000;
/** Silent copies in flight per worker process, as SILENT_MAX_CONCURRENCY caps them per api process. */
const SILENT_CAP = 2;
const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

export interface ScoredBatch {
  /** One result per scored record, in the order the records came. */
  results: Record<string, string>[];
  /** One per record that cannot be scored, with the reason. */
  dead: Record<string, string>[];
  /** Scored records per version and role, for the metrics. */
  versions: Map<string, number>;
}

interface Row {
  rec: StreamRecord;
  features: Record<string, unknown>;
  key: string;
}

/**
 * Turns stream records into result records with the model's deployment, as sync traffic is served: the pilot a
 * record's key hashes to (percentage pilots; group pilots need a caller, which records do not have), else
 * production; silent versions get a copy through PredictionService.run. Records that cannot be fed to the model
 * become dead letters with the reason; anything else (no version to serve, a run that failed) throws, so the
 * batch is not acknowledged and is tried again.
 */
export class StreamScorer {
  /**
   * The first batch reads the deployment from Postgres, not the one this process last heard of: a deployment
   * changed just before the stream was created may not have reached it over pub/sub yet, and the first records
   * would go to the old versions, the rest of their keys to the new. Later changes arrive as for sync traffic.
   */
  private started = false;

  constructor(
    private readonly serving: ServingService,
    private readonly prediction: PredictionService,
    private readonly model: string,
    private readonly stream: string,
    private readonly opts: TStreamOptions,
  ) {}

  async score(records: StreamRecord[]): Promise<ScoredBatch> {
    const dead: Record<string, string>[] = [];
    const rows: Row[] = [];
    for (const rec of records) {
      const r = this.row(rec);
      if (typeof r === 'string') dead.push(deadLetter(rec, r));
      else rows.push(r);
    }
    const state = (this.started && this.serving.state(this.model)) || (await this.serving.refresh(this.model));
    this.started = true;
    const now = Date.now();
    const groups = new Map<number, { role: 'production' | 'pilot'; rows: Row[] }>();
    for (const row of rows) {
      const pilot = pickPilot(state.pilots, SYSTEM, this.model, row.key || this.stream, now);
      const n = pilot ?? pickNumber(state, {});
      let g = groups.get(n);
      if (!g) groups.set(n, (g = { role: pilot === null ? 'production' : 'pilot', rows: [] }));
      g.rows.push(row);
    }
    const out = new Map<StreamRecord, Record<string, string>>();
    const versions = new Map<string, number>();
    for (const [n, g] of groups) {
      const served = this.serving.loaded(this.model, n) ?? (await this.serving.resolve(this.model, { version: n }));
      const scored = await this.run(served, g.role, g.rows, dead);
      for (const [rec, result] of scored) out.set(rec, result);
      versions.set(`${n}|${g.role}`, scored.size);
    }
    const results: Record<string, string>[] = [];
    for (const rec of records) {
      const r = out.get(rec);
      if (r) results.push(r);
    }
    return { results, dead, versions };
  }

  /** Features and key of a record, or why it cannot be scored. */
  private row(rec: StreamRecord): Row | string {
    const key = this.opts.keyField ? (rec.fields[this.opts.keyField] ?? '') : '';
    if (this.opts.payloadField) {
      const raw = rec.fields[this.opts.payloadField];
      if (raw === undefined) return `the record has no "${this.opts.payloadField}" field`;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        return `"${this.opts.payloadField}" is not valid JSON`;
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        return `"${this.opts.payloadField}" must be a JSON object of features`;
      return { rec, features: v as Record<string, unknown>, key };
    }
    // Redis fields are strings: numbers are read as numbers, anything else stays a string (string inputs).
    const features: Record<string, unknown> = {};
    for (const f in rec.fields) {
      const s = rec.fields[f]!;
      features[f] = NUMBER.test(s) ? Number(s) : s;
    }
    return { rec, features, key };
  }

  private async run(
    served: ServedVersion,
    role: 'production' | 'pilot',
    rows: Row[],
    dead: Record<string, string>[],
  ): Promise<Map<StreamRecord, Record<string, string>>> {
    const scored = new Map<StreamRecord, Record<string, string>>();
    let usable = rows;
    let outputs;
    try {
      outputs = await this.runRows(served, role, usable);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      // Find the records at fault one by one; bad records are the exception, so this path is rarely taken.
      usable = [];
      for (const row of rows) {
        try {
          feedsFromRecords(served.signature, [row.features], NO_LIMIT);
          usable.push(row);
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          dead.push(deadLetter(row.rec, err.message.replace(/^Row 0: /, '')));
        }
      }
      if (!usable.length) return scored;
      outputs = await this.runRows(served, role, usable);
    }
    const view = classifierView(served, outputs);
    const preds = view.predictions as unknown[];
    const probs = 'predictions_prob' in view ? (view.predictions_prob as number[][] | undefined) : undefined;
    const classes = 'classes' in view ? (view.classes as unknown[] | undefined) : undefined;
    const version = String(served.version);
    for (let i = 0; i < usable.length; i++) {
      const row = usable[i]!;
      const result: Record<string, string> = { source_id: row.rec.id };
      if (this.opts.keyField) result.key = row.key;
      for (const f of this.opts.copyFields) if (row.rec.fields[f] !== undefined) result[f] = row.rec.fields[f]!;
      result.prediction = JSON.stringify(preds[i] ?? null);
      const p = probs?.[i];
      if (p && classes) {
        const m: Record<string, number> = {};
        classes.forEach((c, k) => (m[String(c)] = p[k]!));
        result.probabilities = JSON.stringify(m);
      }
      result.version = version;
      result.role = role;
      scored.set(row.rec, result);
    }
    return scored;
  }

  private async runRows(served: ServedVersion, role: 'production' | 'pilot', rows: Row[]) {
    const feeds = feedsFromRecords(
      served.signature,
      rows.map((r) => r.features),
      NO_LIMIT,
    );
    // PredictionService.run turns onnxruntime refusing the input into an InputError (the records' fault).
    return this.prediction.run(served, feeds, { timeoutMs: RUN_TIMEOUT_MS, role, silentCap: SILENT_CAP });
  }
}

export function deadLetter(rec: StreamRecord, reason: string): Record<string, string> {
  return {
    source_id: rec.id,
    reason: reason.slice(0, 2000),
    deliveries: String(rec.deliveries),
    fields: JSON.stringify(rec.fields),
  };
}
