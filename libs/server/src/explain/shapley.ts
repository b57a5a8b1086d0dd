/**
 * Interventional Shapley values of one row x against background rows Z: the game is
 * v(S) = mean over z in Z of f(x_S, z_rest), so the base value is v(∅) = mean f(z) and the contributions of all
 * features add up to v(all) - v(∅) = f(x) - base exactly. Everything here is plain math over row-major
 * Float32Arrays (the model's own input type, so a coalition row is what onnxruntime would see) with float64 sums.
 */

/** Runs `n` rows of `m` features (row-major) and gives `n * k` outputs back, row-major. */
export type Evaluate = (rows: Float32Array, n: number) => Promise<Float64Array>;

export interface RowExplanation {
  /** v(∅): the mean output over the background rows, per output. */
  base: number[];
  /** f(x): the model's output for the row, per output. */
  value: number[];
  /** contributions[feature][output]. */
  contributions: number[][];
  /** Sampled methods: the largest half-width of the per-value 99.7 % interval (3 standard errors); else 0. */
  errorBound: number;
}

/** Coalition rows evaluated per model run: bounds the memory of one batch (rows * features * 4 bytes). */
const CHUNK_ROWS = 32_768;
/** Feature values per batch of the sampled method (16 MB of float32), whatever the feature count. */
const CHUNK_VALUES = 4 * 1024 * 1024;

/** Evaluates `n` rows in chunks of CHUNK_ROWS, in order. */
async function evaluateChunked(evaluate: Evaluate, rows: Float32Array, n: number, m: number, k: number) {
  if (n <= CHUNK_ROWS) return evaluate(rows, n);
  const out = new Float64Array(n * k);
  for (let at = 0; at < n; at += CHUNK_ROWS) {
    const len = Math.min(CHUNK_ROWS, n - at);
    out.set(await evaluate(rows.subarray(at * m, (at + len) * m), len), at * k);
  }
  return out;
}

/** Shapley weight of a coalition of size s (not holding the feature) among m features: s! (m-s-1)! / m!. */
export function shapleyWeights(m: number): Float64Array {
  const w = new Float64Array(m);
  for (let s = 0; s < m; s++) {
    // s! (m-s-1)! / m! = 1 / (m * C(m-1, s))
    let c = 1;
    for (let i = 1; i <= s; i++) c = (c * (m - 1 - s + i)) / i;
    w[s] = 1 / (m * c);
  }
  return w;
}

const popcount = (v: number) => {
  let c = 0;
  for (; v; v &= v - 1) c++;
  return c;
};

/**
 * Exact Shapley values by enumerating all 2^m coalitions, each against every background row: 2^m * |Z| model
 * rows. The oracle computes the same sums in Python (scripts/explain-oracle).
 */
export async function exactShapley(
  x: Float32Array,
  background: Float32Array,
  m: number,
  k: number,
  evaluate: Evaluate,
): Promise<RowExplanation> {
  const nb = background.length / m;
  const coalitions = 1 << m;
  const rows = new Float32Array(coalitions * nb * m);
  for (let s = 0; s < coalitions; s++) {
    for (let b = 0; b < nb; b++) {
      const at = (s * nb + b) * m;
      for (let j = 0; j < m; j++) rows[at + j] = s & (1 << j) ? x[j]! : background[b * m + j]!;
    }
  }
  const out = await evaluateChunked(evaluate, rows, coalitions * nb, m, k);
  const v = new Float64Array(coalitions * k);
  for (let s = 0; s < coalitions; s++)
    for (let b = 0; b < nb; b++) for (let o = 0; o < k; o++) v[s * k + o]! += out[(s * nb + b) * k + o]! / nb;
  const w = shapleyWeights(m);
  const contributions = Array.from({ length: m }, () => new Array<number>(k).fill(0));
  for (let s = 0; s < coalitions; s++) {
    const size = popcount(s);
    for (let j = 0; j < m; j++) {
      if (s & (1 << j)) continue;
      const withJ = s | (1 << j);
      for (let o = 0; o < k; o++) contributions[j]![o]! += w[size]! * (v[withJ * k + o]! - v[s * k + o]!);
    }
  }
  const full = coalitions - 1;
  return {
    base: Array.from(v.subarray(0, k)),
    value: Array.from(v.subarray(full * k, full * k + k)),
    contributions,
    errorBound: 0,
  };
}

/** A small seeded generator (mulberry32): the same request gets the same sampled answer. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Sampled Shapley values (permutation sampling, the estimator behind sampling KernelSHAP's budget): each sample is
 * a random feature order and a background row z; walking the order from z to x, each feature's step is one draw of
 * its contribution. The background rows are taken in turn, `samples` rounded up to a multiple of their count, so
 * every row weighs the same and the contributions add up to f(x) - base exactly, like the exact methods; only
 * their split between features is estimated. `errorBound` is 3 standard errors of the worst estimate.
 */
export async function sampledShapley(
  x: Float32Array,
  background: Float32Array,
  m: number,
  k: number,
  evaluate: Evaluate,
  samples: number,
  seed = 1,
): Promise<RowExplanation & { samples: number }> {
  const nb = background.length / m;
  const p = Math.max(nb, Math.ceil(samples / nb) * nb);
  const rand = seededRandom(seed);
  const sum = new Float64Array(m * k);
  const sq = new Float64Array(m * k);
  const base = new Float64Array(k);
  const value = new Float64Array(k);
  const order = Int32Array.from({ length: m }, (_, i) => i);
  // Samples are run in batches of about CHUNK_VALUES values, so memory stays flat however many are asked for.
  const batch = Math.max(1, Math.min(Math.floor(CHUNK_ROWS / (m + 1)), Math.floor(CHUNK_VALUES / ((m + 1) * m))));
  const orders = new Int32Array(batch * m);
  const rows = new Float32Array(batch * (m + 1) * m);
  for (let from = 0; from < p; from += batch) {
    const len = Math.min(batch, p - from);
    for (let s = 0; s < len; s++) {
      for (let i = m - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      orders.set(order, s * m);
      const z = ((from + s) % nb) * m;
      let at = s * (m + 1) * m;
      rows.set(background.subarray(z, z + m), at);
      for (let step = 0; step < m; step++) {
        rows.copyWithin(at + m, at, at + m);
        at += m;
        rows[at + order[step]!] = x[order[step]!]!;
      }
    }
    const out = await evaluate(rows.subarray(0, len * (m + 1) * m), len * (m + 1));
    // The last step of any sample is x itself.
    if (from === 0) value.set(out.subarray(m * k, m * k + k));
    for (let s = 0; s < len; s++) {
      const first = s * (m + 1) * k;
      for (let o = 0; o < k; o++) base[o]! += out[first + o]! / p;
      for (let step = 0; step < m; step++) {
        const j = orders[s * m + step]!;
        for (let o = 0; o < k; o++) {
          const d = out[first + (step + 1) * k + o]! - out[first + step * k + o]!;
          sum[j * k + o]! += d;
          sq[j * k + o]! += d * d;
        }
      }
    }
  }
  let bound = 0;
  const contributions = Array.from({ length: m }, (_, j) =>
    Array.from({ length: k }, (_, o) => {
      const mean = sum[j * k + o]! / p;
      const variance = Math.max(0, sq[j * k + o]! / p - mean * mean) * (p / Math.max(1, p - 1));
      bound = Math.max(bound, 3 * Math.sqrt(variance / p));
      return mean;
    }),
  );
  return {
    base: Array.from(base),
    value: Array.from(value),
    contributions,
    errorBound: bound,
    samples: p,
  };
}
