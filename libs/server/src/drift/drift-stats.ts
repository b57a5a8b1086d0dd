// Special functions and two-sample tests for drift monitoring, in plain TypeScript so the worker needs no native
// statistics library. Each function says which scipy 1.10 function it reproduces; drift-stats.spec.ts checks them
// against numbers scipy computed (fixtures/make-expected.py -> fixtures/expected.json).

/** ln Γ(x) for x > 0: Stirling's series above 10, shifted down by Γ(x+1) = xΓ(x) below (relative error ~1e-16). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  let prod = 1;
  while (x < 10) {
    prod *= x;
    x += 1;
  }
  return stirlingLogGamma(x) - Math.log(prod);
}

/**
 * Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a) (scipy.special.gammaincc): the series for P when
 * x < a + 1 (where Q is not small, so 1 - P loses nothing that matters), Lentz's continued fraction otherwise.
 */
export function gammaincc(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return Number.NaN;
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return Math.min(1, Math.max(0, 1 - sum * Math.exp(logPrefix)));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.min(1, Math.max(0, Math.exp(logPrefix) * h));
}

/** Survival function of the chi-squared distribution (scipy.stats.chi2.sf). */
export function chi2Sf(x: number, dof: number): number {
  if (!(dof > 0)) return Number.NaN;
  if (!(x > 0)) return 1;
  return gammaincc(dof / 2, x / 2);
}

// ---------------------------------------------------------------------------------------------------------------
// The exact distribution of the one-sample two-sided Kolmogorov-Smirnov statistic D_n (scipy.stats.kstwo), which
// scipy's ks_2samp(method='asymp') evaluates at n = round(n1*n2/(n1+n2)). A port of scipy/stats/_ksstats.py
// (Simard & L'Ecuyer 2011: pick Durbin's matrix, Pomeranz's recursion, Pelz-Good or 2*Smirnov by n and n*d^2).

const E128 = 2 ** 128;
const EM128 = 2 ** -128;

const clip01 = (p: number) => Math.min(1, Math.max(0, p));

/** x * 2^e without the intermediate 2^e under- or overflowing. */
function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

// The series' rational coefficients (-691/23400, 1/156, ...) as the doubles they round to.
const STIRLING = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417, -0.0005952380952380953,
  0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

/** ln Γ(x) for x >= 10 by Stirling's series (8 Bernoulli terms: truncation error below 1e-17 there). */
function stirlingLogGamma(x: number): number {
  const y = 1 / (x * x);
  let poly = 0;
  for (const c of STIRLING) poly = poly * y + c;
  return (x - 0.5) * Math.log(x) - x + Math.log(2 * Math.PI) / 2 + poly / x;
}

/** ln(n! / n^n) by Stirling's series, with n ln n removed up front to avoid cancellation. */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  const y = rn / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * y + c;
  return Math.log(n) / 2 - n + Math.log(2 * Math.PI) / 2 + rn * poly;
}

/**
 * P(D+_n >= d), the exact one-sided statistic (scipy.special.smirnov), by the Smirnov/Birnbaum-Tingey sum
 * d * Σ_{v=0}^{⌊n(1-d)⌋} C(n,v) (d + v/n)^(v-1) (1 - d - v/n)^(n-v). Every term is positive, so summing them in
 * log space (log-sum-exp) is accurate for any n we meet.
 */
export function smirnovSf(n: number, d: number): number {
  if (!(d > 0)) return 1;
  if (d >= 1) return 0;
  const top = Math.floor(n * (1 - d));
  const logs = new Float64Array(top + 1);
  let max = Number.NEGATIVE_INFINITY;
  let logBinom = 0; // ln C(n, v), built up term by term: more accurate than three large lnΓ values
  for (let v = 0; v <= top; v++) {
    if (v > 0) logBinom += Math.log((n - v + 1) / v);
    const evn = d + v / n;
    const rest = 1 - evn;
    let t = logBinom + (v - 1) * Math.log(evn);
    if (n - v > 0) t += rest > 0 ? (n - v) * Math.log(rest) : Number.NEGATIVE_INFINITY;
    logs[v] = t;
    if (t > max) max = t;
  }
  if (max === Number.NEGATIVE_INFINITY) return 0;
  let sum = 0;
  for (let v = 0; v <= top; v++) sum += Math.exp(logs[v]! - max);
  return clip01(d * Math.exp(max + Math.log(sum)));
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j]! += aik * b[k * m + j]!;
    }
  }
  return out;
}

/** P(D_n <= d) by Durbin's matrix algorithm as Marsaglia, Tsang & Wang compute it (scipy `_kolmogn_DMTW`). */
function kolmogorovDurbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  v[m - 1] = (1 + (Math.max(2 * h - 1, 0) ** m - 2 * h ** m)) * fac;
  let H = new Float64Array(m * m);
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)]!;
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;

  let P = new Float64Array(m * m);
  for (let i = 0; i < m; i++) P[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let hExpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      P = matmul(P, H, m);
      expnt += hExpnt;
    }
    H = matmul(H, H, m);
    hExpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > E128) {
      for (let i = 0; i < H.length; i++) H[i]! /= E128;
      hExpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = P[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      expnt -= 128;
    }
  }
  return clip01(ldexp(p, expnt));
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n <= x) by Pomeranz's recursion (scipy `_kolmogn_Pomeranz`). */
function kolmogorovPomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1]! * (g / n)) / m;
    twogpower[m] = (twogpower[m - 1]! * ((2 * g) / n)) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * ((1 - 2 * g) / n)) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let expnt = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 <= 0) continue;
    // conv = np.convolve(V0[k1-V0s : k1-V0s+ln2], pwrs[:ln2]); V1[:len] = conv[j1-k1 : j1-k1+len]
    const aStart = k1 - V0s;
    const aLen = Math.max(0, Math.min(ln2, npwrs - aStart));
    const bLen = Math.min(ln2, npwrs);
    const convStart = j1 - k1;
    const convLen = j2 - j1 + 1;
    let max = 0;
    for (let c = 0; c < convLen; c++) {
      const idx = convStart + c;
      let s = 0;
      const lo = Math.max(0, idx - bLen + 1);
      const hi = Math.min(aLen - 1, idx);
      for (let a = lo; a <= hi; a++) s += V0[aStart + a]! * pwrs[idx - a]!;
      V1[c] = s;
      if (s > max) max = s;
    }
    if (max > 0 && max < EM128) {
      for (let c = 0; c < npwrs; c++) V1[c]! *= E128;
      expnt -= 128;
    }
    V1s = V0s + j1 - k1;
  }
  let ans = V1[n - V1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > E128) {
      ans *= EM128;
      expnt += 128;
    }
    ans *= m;
  }
  return clip01(ldexp(ans, expnt));
}

/** P(D_n <= x) by the Pelz-Good asymptotic series (scipy `_kolmogn_PelzGood`). */
function kolmogorovPelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const PI2 = Math.PI ** 2;
  const PI4 = Math.PI ** 4;
  const PI6 = Math.PI ** 6;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2,
    z3 = z ** 3,
    z4 = z ** 4,
    z6 = z ** 6;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2,
      m4 = m ** 4,
      m6 = m ** 6;
    const qp = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i]! * qp + coeffs[i]!;
  }
  const sqrt2pi = Math.sqrt(2 * Math.PI);
  const denom = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * sqrt2pi) / denom[i]!;
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qk = q ** k2;
    k2extra += k2 * qk;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qk;
  }
  K[2]! += (k2extra * PI2 * sqrt2pi) / (-36 * z3);
  K[3]! += (k3extra * PI2 * sqrt2pi) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i]! / n ** (i / 2);
  return sum;
}

/**
 * P(D_n >= x) for the one-sample two-sided statistic: scipy.stats.kstwo.sf(x, n) (`_kolmogn(n, x, cdf=False)`),
 * branch for branch. `n` must be a positive integer.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip01(1 - kolmogorovDurbinCdf(n, x));
    if (nxSquared <= 4) return clip01(1 - kolmogorovPomeranzCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? kolmogorovDurbinCdf(n, x) : kolmogorovPelzGoodCdf(n, x);
  return clip01(1 - cdf);
}

/** numpy's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface TestResult {
  statistic: number;
  pValue: number;
}

/**
 * Two-sample Kolmogorov-Smirnov test on two ascending-sorted samples, as scipy.stats.ks_2samp(a, b,
 * method='asymp'): D = sup |F_a - F_b|, p = kstwo.sf(D, round(n_a n_b / (n_a + n_b))). We match 'asymp', not
 * 'auto' ('auto' switches to an exact lattice-path count below 10,000 values per side, which costs O(n_a n_b)).
 * With samples of size 1 and 1 the effective n rounds to 0, where scipy answers NaN; we answer p = 1.
 */
export function ks2Samp(a: ArrayLike<number>, b: ArrayLike<number>): TestResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { statistic: 0, pValue: 1 };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 && j < n2) {
    const v = Math.min(a[i]!, b[j]!);
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) d = diff;
  }
  // Once one sample is exhausted its CDF is 1 and the other's only grows toward 1: the sup is already seen.
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = roundHalfEven((m * n) / (m + n));
  const pValue = en === 0 ? 1 : kolmogorovSf(en, d);
  return { statistic: d, pValue };
}

export interface ChiSquaredResult extends TestResult {
  dof: number;
}

/**
 * Pearson's chi-squared test of homogeneity on the 2 x k table [reference counts; current counts], as
 * scipy.stats.chi2_contingency(table) with its default Yates correction (applied only when dof = 1). Categories
 * empty on both sides are dropped first (scipy refuses tables with a zero expected count); with fewer than two
 * categories left, or an empty side, the test is degenerate: statistic 0, p = 1.
 */
export function chi2Contingency(reference: ArrayLike<number>, current: ArrayLike<number>): ChiSquaredResult {
  const cols: [number, number][] = [];
  let r0 = 0;
  let r1 = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = reference[i]!;
    const b = current[i]!;
    if (a + b > 0) cols.push([a, b]);
    r0 += a;
    r1 += b;
  }
  const dof = cols.length - 1;
  if (dof <= 0 || r0 === 0 || r1 === 0) return { statistic: 0, pValue: 1, dof: Math.max(dof, 0) };
  const total = r0 + r1;
  let stat = 0;
  for (const [a, b] of cols) {
    const col = a + b;
    for (const [obs, row] of [
      [a, r0],
      [b, r1],
    ] as const) {
      const exp = (row * col) / total;
      let o = obs;
      if (dof === 1) {
        const diff = exp - o;
        o += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      stat += (o - exp) ** 2 / exp;
    }
  }
  return { statistic: stat, pValue: chi2Sf(stat, dof), dof };
}
