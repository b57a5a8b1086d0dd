import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** One model's exact values from scripts/explain-oracle/oracle.py (test/fixtures/explain/oracle.json). */
export interface OracleModel {
  output: string;
  features: string[];
  /** The background the oracle used: register these as the version's reference rows to get the same one. */
  background: number[][];
  rows: { x: number[]; base: number[]; value: number[]; contributions?: number[][] }[];
}

export function oracleModel(name: string): OracleModel {
  const file = path.resolve('test/fixtures/explain/oracle.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { models: Record<string, OracleModel> }).models[name]!;
}

interface AnsweredRow {
  base: number[];
  value: number[];
  contributions: number[][];
  errorBound: number;
}

/**
 * Answered rows equal the oracle's within `tol` (base, output, every contribution; or a sampled contribution
 * within its errorBound), and base + contributions = output within `tol`.
 */
export function assertMatchesOracle(rows: AnsweredRow[], o: OracleModel, tol: number) {
  assert.equal(rows.length, o.rows.length);
  rows.forEach((got, r) => {
    const want = o.rows[r]!;
    want.value.forEach((v, out) => {
      assert.ok(Math.abs(got.value[out]! - v) <= tol, `row ${r} output ${out}: ${got.value[out]} vs ${v}`);
      assert.ok(Math.abs(got.base[out]! - want.base[out]!) <= tol, `row ${r} base ${got.base[out]}`);
      const sum = got.contributions.reduce((s, c) => s + c[out]!, got.base[out]!);
      assert.ok(Math.abs(sum - got.value[out]!) <= tol, `row ${r} output ${out}: base + contributions = ${sum}`);
      want.contributions?.forEach((c, j) =>
        assert.ok(
          Math.abs(got.contributions[j]![out]! - c[out]!) <= Math.max(tol, got.errorBound),
          `row ${r} ${o.features[j]} output ${out}: ${got.contributions[j]![out]} vs ${c[out]}`,
        ),
      );
    });
  });
}
