// Shared by the drift specs: the known answers scipy computed (fixtures/expected.json, made by
// fixtures/make-expected.py) and a tolerance check. The JSON stays in src; the compiled specs read it from there.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

export interface NumericCase {
  name: string;
  reference: (number | null)[];
  current: (number | null)[];
  edges: number[];
  referenceCounts: number[];
  currentCounts: number[];
  psi: number;
  js: number;
  ks: { statistic: number; pValue: number };
  reference_mean: number;
  reference_std: number;
}

export interface CategoricalCase {
  name: string;
  maxCategories: number;
  reference: (string | null)[];
  current: (string | null)[];
  categories: string[];
  referenceCounts: number[];
  currentCounts: number[];
  psi: number;
  js: number;
  chi2: { statistic: number; pValue: number; dof: number };
}

export interface Expected {
  versions: Record<string, string>;
  bins: number;
  psiEpsilon: number;
  numeric: NumericCase[];
  categorical: CategoricalCase[];
  kstwo: { n: number; d: number; sf: number }[];
  ks2samp: { a: number[]; b: number[]; statistic: number; pValue: number }[];
  chi2sf: { x: number; dof: number; sf: number }[];
  gammaincc: { a: number; x: number; q: number }[];
}

// dist/drift/*.spec.js -> src/drift/fixtures/expected.json
export const expected: Expected = JSON.parse(
  readFileSync(new URL('../../src/drift/fixtures/expected.json', import.meta.url), 'utf8'),
);

/** |actual - wanted| <= rel * |wanted| + abs. */
export function assertClose(
  actual: number | null | undefined,
  wanted: number,
  message: string,
  rel = 1e-9,
  abs = 1e-300,
) {
  assert.ok(typeof actual === 'number', `${message}: got ${actual}`);
  const ok = Math.abs(actual - wanted) <= rel * Math.abs(wanted) + abs;
  assert.ok(ok, `${message}: got ${actual}, want ${wanted} (diff ${actual - wanted})`);
}

/** Deterministic N(mean, sd) values (Box-Muller over mulberry32), for tests that need many rows. */
export function normals(n: number, mean: number, sd: number, seed: number): Float64Array {
  let s = seed | 0;
  const u = () => {
    let a = (s = (s + 0x6d2b79f5) | 0);
    a = Math.imul(a ^ (a >>> 15), 1 | a);
    a = (a + Math.imul(a ^ (a >>> 7), 61 | a)) ^ a;
    return (((a ^ (a >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

/** A one-feature batch; null becomes NaN (missing) for numeric columns. */
export function batchOf(name: string, values: ArrayLike<unknown>, outputs: Record<string, ArrayLike<unknown>> = {}) {
  const column =
    Array.isArray(values) && values.every((v) => v === null || typeof v === 'number')
      ? Float64Array.from(values as (number | null)[], (v) => v ?? Number.NaN)
      : values;
  return { rows: values.length, features: { [name]: column }, outputs };
}
