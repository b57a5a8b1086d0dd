// Deterministic randomness and bounded samples for the KS test. Everything here is seedable and its state is a
// plain number, so a window can be stored as JSON and folded into later with the same results.

/** mulberry32: one uint32 of state, fast, good enough for sampling (not for anything secret). */
export function nextRandom(state: { rng: number }): number {
  let a = (state.rng = (state.rng + 0x6d2b79f5) | 0);
  a = Math.imul(a ^ (a >>> 15), 1 | a);
  a = (a + Math.imul(a ^ (a >>> 7), 61 | a)) ^ a;
  return ((a ^ (a >>> 14)) >>> 0) / 4294967296;
}

/** A uniform sample without replacement of at most `capacity` of the `seen` values offered so far. */
export interface Reservoir {
  capacity: number;
  seen: number;
  values: number[];
}

export const emptyReservoir = (capacity: number): Reservoir => ({ capacity, seen: 0, values: [] });

/**
 * Offers values[0..n) to the reservoir (Vitter's algorithm R, one random number per value once it is full). The
 * generator is inlined: this runs once per numeric value folded, 64 million times in the bench.
 */
export function offerAll(res: Reservoir, values: Float64Array, n: number, state: { rng: number }): void {
  const cap = res.capacity;
  const out = res.values;
  let seen = res.seen;
  let i = 0;
  while (i < n && out.length < cap) {
    out.push(values[i++]!);
    seen++;
  }
  let s = state.rng;
  for (; i < n; i++) {
    seen++;
    let a = (s = (s + 0x6d2b79f5) | 0);
    a = Math.imul(a ^ (a >>> 15), 1 | a);
    a = (a + Math.imul(a ^ (a >>> 7), 61 | a)) ^ a;
    const j = Math.floor((((a ^ (a >>> 14)) >>> 0) / 4294967296) * seen);
    if (j < cap) out[j] = values[i]!;
  }
  state.rng = s;
  res.seen = seen;
}

/**
 * The reservoir of the union of two streams: how many of the merged slots come from each side is drawn as the
 * hypergeometric split of the slots between `a.seen` and `b.seen` values, then that many are taken at random from
 * each side's (itself uniform) sample. The result is again a uniform sample of the union.
 */
export function mergeReservoirs(a: Reservoir, b: Reservoir, state: { rng: number }): Reservoir {
  const capacity = Math.max(a.capacity, b.capacity);
  const seen = a.seen + b.seen;
  const k = Math.min(capacity, a.values.length + b.values.length);
  let remA = a.seen;
  let remB = b.seen;
  let fromA = 0;
  for (let i = 0; i < k; i++) {
    if (nextRandom(state) * (remA + remB) < remA) {
      fromA++;
      remA--;
    } else remB--;
  }
  fromA = Math.min(fromA, a.values.length);
  const fromB = Math.min(k - fromA, b.values.length);
  return { capacity, seen, values: [...pick(a.values, fromA, state), ...pick(b.values, fromB, state)] };
}

/** `k` values drawn without replacement (a partial Fisher-Yates shuffle of a copy). */
function pick(values: number[], k: number, state: { rng: number }): number[] {
  if (k >= values.length) return values.slice();
  const copy = values.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(nextRandom(state) * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}
