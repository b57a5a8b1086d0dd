import { InputError, type ServedVersion } from '../engine/index.js';
import { explainedIO } from '../explain/explain.service.js';

/**
 * Contribution columns of a batch job (`output.contributions`, issue 18): each row's explanation, as `POST /explain`
 * answers it, flattened into columns. For one explained output: `contribution_<feature>` per feature, then
 * `base_value`; for a classifier's class probabilities, the same per class: `contribution_<feature>_<class>`, then
 * `base_value_<class>`. The names come from the signature, so the CSV header is known before anything is scored.
 */
export function contributionNames(sv: ServedVersion): string[] {
  const io = explainedIO(sv);
  if (io.outputs.length <= 1) return [...io.features.map((f) => `contribution_${f}`), 'base_value'];
  return io.outputs.flatMap((o) => [
    ...io.features.map((f) => `contribution_${f}_${String(o)}`),
    `base_value_${String(o)}`,
  ]);
}

/** Rows explained: features x outputs contributions and the base per output, as ExplainService answers a row. */
export interface ExplainedRow {
  base: number[];
  contributions: number[][];
}

/** Explains `n` rows of `x` (row-major, float32 as the model reads them); ExplainService.explainBatch in production. */
export type ExplainRows = (sv: ServedVersion, x: Float32Array, n: number) => Promise<ExplainedRow[]>;

/** BATCH_CONTRIBUTIONS_MAX_ROWS's default, for services built without the worker's config (unit tests). */
export const DEFAULT_CONTRIBUTIONS_MAX_ROWS = 100_000;

/**
 * `explain` within a job's budget of `max` explained rows (BATCH_CONTRIBUTIONS_MAX_ROWS), `before` of them spent by
 * earlier chunks: a call past it fails before any explaining, with the reason the job fails with.
 */
export function withRowBudget(explain: ExplainRows, max: number, before = 0): ExplainRows {
  let spent = before;
  return (sv, x, n) => {
    spent += n;
    if (spent > max)
      return Promise.reject(
        new InputError(
          `Contribution columns are computed for at most ${max} rows a job (BATCH_CONTRIBUTIONS_MAX_ROWS), and ` +
            'this input has more: split it, or leave output.contributions out',
        ),
      );
    return explain(sv, x, n);
  };
}

/**
 * One Float64Array per contribution column (names in contributionNames' order), for `n` rows. The explanation must
 * have the width the names promise (a regressor with several targets has no such columns).
 */
export async function contributionColumns(
  sv: ServedVersion,
  explain: ExplainRows,
  x: Float32Array,
  n: number,
): Promise<{ names: string[]; values: Float64Array[] }> {
  const names = contributionNames(sv);
  const m = explainedIO(sv).features.length;
  const rows = await explain(sv, x, n);
  const k = names.length / (m + 1);
  const values = names.map(() => new Float64Array(n));
  for (let r = 0; r < n; r++) {
    const row = rows[r]!;
    if (row.base.length !== k)
      throw new InputError(
        `Version ${sv.version} explains ${row.base.length} outputs; its contribution columns name ${k}`,
      );
    for (let o = 0; o < k; o++) {
      for (let j = 0; j < m; j++) values[o * (m + 1) + j]![r] = row.contributions[j]![o]!;
      values[o * (m + 1) + m]![r] = row.base[o]!;
    }
  }
  return { names, values };
}
