import { goesYes, type AdditiveModel, type LinearModel, type Tree, type TreeModel } from './explain-graph.js';
import type { Evaluate, RowExplanation } from './shapley.js';

/**
 * Shapley values computed from the graph itself: closed form for linear scores, interventional TreeSHAP for tree
 * ensembles, and the linear model as a TypeScript function (for its probabilities, which are not linear).
 */

/** Column means of row-major rows. */
export function columnMeans(rows: Float32Array, m: number): Float64Array {
  const n = rows.length / m;
  const mean = new Float64Array(m);
  for (let r = 0; r < n; r++) for (let j = 0; j < m; j++) mean[j]! += rows[r * m + j]! / n;
  return mean;
}

/**
 * Linear scores f_o(x) = w_o . x + b_o: the interventional Shapley value of feature j is w_oj (x_j - mean_j), the
 * mean taken over the background rows; the base is f(mean). Exact, O(m k) per row.
 */
export function linearShapley(model: LinearModel, x: Float32Array, mean: Float64Array): RowExplanation {
  const { m, k, weights, intercepts } = model;
  const base = new Array<number>(k);
  const value = new Array<number>(k);
  const contributions = Array.from({ length: m }, () => new Array<number>(k));
  for (let o = 0; o < k; o++) {
    let b = intercepts[o]!;
    let v = intercepts[o]!;
    for (let j = 0; j < m; j++) {
      const w = weights[o * m + j]!;
      b += w * mean[j]!;
      v += w * x[j]!;
      contributions[j]![o] = w * (x[j]! - mean[j]!);
    }
    base[o] = b;
    value[o] = v;
  }
  return { base, value, contributions, errorBound: 0 };
}

/**
 * A sum of per-feature terms f_o(x) = bias_o + sum_j t_j(x_j)_o (one-hot weights): feature j's interventional
 * Shapley value is t_j(x_j) - mean over the background of t_j(z_j), every other term cancelling in each
 * coalition's difference; the base is f's mean over the background. Exact, O(m k (1 + background)) per row.
 */
export function additiveShapley(model: AdditiveModel, x: Float32Array, background: Float32Array): RowExplanation {
  const { m, k } = model;
  const nb = background.length / m;
  const base = Array.from(model.bias);
  const value = Array.from(model.bias);
  const contributions = Array.from({ length: m }, () => new Array<number>(k).fill(0));
  const t = new Float64Array(k);
  for (let j = 0; j < m; j++) {
    t.fill(0);
    model.term(j, x[j]!, t);
    const mean = new Float64Array(k);
    for (let b = 0; b < nb; b++) model.term(j, background[b * m + j]!, mean);
    for (let o = 0; o < k; o++) {
      const avg = mean[o]! / nb;
      contributions[j]![o] = t[o]! - avg;
      base[o]! += avg;
      value[o]! += t[o]!;
    }
  }
  return { base, value, contributions, errorBound: 0 };
}

/** The linear model with its link, in float64: the function the exact and sampled methods run on coalition rows. */
export function linearEvaluate(model: LinearModel): Evaluate {
  const { m, k, weights, intercepts, link } = model;
  return async (rows, n) => {
    const out = new Float64Array(n * k);
    for (let r = 0; r < n; r++) {
      let max = -Infinity;
      for (let o = 0; o < k; o++) {
        let s = intercepts[o]!;
        for (let j = 0; j < m; j++) s += weights[o * m + j]! * rows[r * m + j]!;
        out[r * k + o] = s;
        if (s > max) max = s;
      }
      if (link === 'logistic') for (let o = 0; o < k; o++) out[r * k + o] = 1 / (1 + Math.exp(-out[r * k + o]!));
      else if (link === 'softmax') {
        let sum = 0;
        for (let o = 0; o < k; o++) sum += out[r * k + o] = Math.exp(out[r * k + o]! - max);
        for (let o = 0; o < k; o++) out[r * k + o]! /= sum;
      }
    }
    return out;
  };
}

/** The ensemble's output for one row (sum of the leaves it reaches, plus the base values). */
export function treePredict(model: TreeModel, x: Float32Array | Float64Array): Float64Array {
  const out = Float64Array.from(model.base);
  for (const t of model.trees) {
    let n = 0;
    while (t.leaf[n]! < 0) n = goesYes(t.mode[n]!, x[t.feature[n]!]!, t.threshold[n]!) ? t.yes[n]! : t.no[n]!;
    for (let o = 0; o < model.k; o++) out[o]! += t.weights[t.leaf[n]! + o]!;
  }
  return out;
}

/**
 * Interventional TreeSHAP: for one pair (x, z) and one tree, the game v(S) = tree(x_S, z_rest) is a sum over
 * the leaves reachable by some S of leaf * [A ⊆ S and B ∩ S = ∅], where A are the features on the way at which x
 * and z part and the path follows x, B those where it follows z. Such a unanimity-like game has the Shapley values
 * (|A|-1)! |B|! / (|A|+|B|)! for each feature of A and -|A|! (|B|-1)! / (|A|+|B|)! for each of B. Averaged over
 * the background rows this is exactly the enumeration's answer, at the cost of the leaves visited.
 */
export function treeShapley(model: TreeModel, x: Float32Array, background: Float32Array): RowExplanation {
  const { m, k } = model;
  const nb = background.length / m;
  const phi = new Float64Array(m * k);
  const base = new Float64Array(k);
  // side[j]: 0 not met yet, 1 in A (x's way), 2 in B (z's way); the stack lists features set, for undoing.
  const side = new Uint8Array(m);
  const stack = new Int32Array(m);
  const depthMax = m + 1;
  // coef[a][b] = a! b! / (a+b+1)!: the weight both signs share, with a = |A|-1 or b = |B|-1 taken off.
  const coef = new Float64Array(depthMax * depthMax);
  for (let a = 0; a < depthMax; a++)
    for (let b = 0; a + b < depthMax; b++) {
      let c = 1 / (a + b + 1);
      // a! b! / (a+b)! = 1 / C(a+b, a)
      for (let i = 1; i <= a; i++) c = (c * i) / (b + i);
      coef[a * depthMax + b] = c;
    }
  let z: Float32Array = background;
  let zAt = 0;
  const walk = (t: Tree, n: number, nA: number, nB: number, top: number) => {
    const leaf = t.leaf[n]!;
    if (leaf >= 0) {
      if (nA + nB === 0) return;
      const wA = nA > 0 ? coef[(nA - 1) * depthMax + nB]! : 0;
      const wB = nB > 0 ? coef[nA * depthMax + (nB - 1)]! : 0;
      for (let i = 0; i < top; i++) {
        const j = stack[i]!;
        const w = side[j] === 1 ? wA : -wB;
        for (let o = 0; o < k; o++) phi[j * k + o]! += w * t.weights[leaf + o]!;
      }
      return;
    }
    const f = t.feature[n]!;
    const th = t.threshold[n]!;
    const xn = goesYes(t.mode[n]!, x[f]!, th) ? t.yes[n]! : t.no[n]!;
    const zn = goesYes(t.mode[n]!, z[zAt + f]!, th) ? t.yes[n]! : t.no[n]!;
    if (xn === zn) return walk(t, xn, nA, nB, top);
    if (side[f] === 1) return walk(t, xn, nA, nB, top);
    if (side[f] === 2) return walk(t, zn, nA, nB, top);
    stack[top] = f;
    side[f] = 1;
    walk(t, xn, nA + 1, nB, top + 1);
    side[f] = 2;
    walk(t, zn, nA, nB + 1, top + 1);
    side[f] = 0;
  };
  for (let b = 0; b < nb; b++) {
    z = background;
    zAt = b * m;
    const fz = treePredict(model, background.subarray(zAt, zAt + m));
    for (let o = 0; o < k; o++) base[o]! += fz[o]! / nb;
    for (const t of model.trees) walk(t, 0, 0, 0, 0);
  }
  const contributions = Array.from({ length: m }, (_, j) => Array.from({ length: k }, (_, o) => phi[j * k + o]! / nb));
  return { base: Array.from(base), value: Array.from(treePredict(model, x)), contributions, errorBound: 0 };
}
