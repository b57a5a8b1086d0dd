/**
 * CSV straight from bytes into typed columns, and numbers straight back into bytes (issue 23). A batch job's CPU
 * went to strings: a string per line, a string per field, `Number()` per cell and `String()` per probability. Here a
 * chunk of the input file is scanned once, byte by byte: feature cells are parsed into the model's float buffer,
 * and only each record's offsets are kept, so the output can copy the input's bytes. Anything out of the ordinary
 * (a quote, a blank or odd cell, a wrong field count) makes the fast parse give up on the chunk (null), and the
 * caller scores that chunk on the row path, which sets bad rows aside with their reason.
 */

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
// Past 1e22 powers of ten are not exact doubles; writeFloat32 checks every result reads back, so they only ever
// cost a fallback, never a wrong digit.
const POW10 = Array.from({ length: 40 }, (_, i) => 10 ** i);
/** What the row path accepts as a number (csv cells go through `Number`, which also reads hex and blanks). */
const NUMBER_RE = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** Bytes to skip at the start: a UTF-8 byte order mark. */
export const bomLength = (buf: Uint8Array) => (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0);

/**
 * The byte offset just past `rows` records from `from` (blank lines are not records, as in CsvRecordReader; quoted
 * line breaks stay inside their record), the records found, and whether any quote was seen (the fast parse then
 * does not try).
 */
export function advanceRecords(
  buf: Uint8Array,
  from: number,
  rows: number,
): { end: number; records: number; quotes: boolean } {
  const n = buf.length;
  let p = from;
  let records = 0;
  let quotes = false;
  while (p < n && records < rows) {
    // A line's first byte: a blank line (LF or CR LF) is skipped, as the row reader does.
    const c0 = buf[p]!;
    if (c0 === LF) {
      p++;
      continue;
    }
    if (c0 === CR && buf[p + 1] === LF) {
      p += 2;
      continue;
    }
    // Quotes as CsvRecordReader reads them: only a quote that opens a field starts a quoted field, `""` inside
    // one is a quote, and a line break inside one does not end the record.
    let quoted = false;
    let fieldStart = true;
    for (; p < n; p++) {
      const c = buf[p]!;
      if (quoted) {
        if (c === QUOTE) {
          if (buf[p + 1] === QUOTE) p++;
          else quoted = false;
        }
        continue;
      }
      if (c === LF) break;
      if (c === QUOTE) {
        quotes = true;
        quoted = fieldStart;
      }
      fieldStart = c === COMMA;
    }
    p++;
    records++;
  }
  return { end: Math.min(p, n), records, quotes };
}

/** The parsed chunk: the model's input rows, row-major, and each record's offsets in the file. */
export interface CsvColumns {
  rows: number;
  features: Float32Array | Float64Array;
  /** Start and end (line break excluded) of each record (arrays may be longer than `rows`). */
  lineStart: Float64Array;
  lineEnd: Float64Array;
  /** Start and end of each record's id field, when an id column is asked for. */
  idStart: Float64Array | null;
  idEnd: Float64Array | null;
}

export interface CsvPlan {
  /** Fields per record (the header's). */
  fields: number;
  /** For each field, the feature slot it fills, or -1. */
  slotOf: Int32Array;
  width: number;
  float64: boolean;
  /** The field to keep offsets of (output.columns "id"), or -1. */
  idField: number;
}

/**
 * The arrays parseCsvChunk fills, kept from one chunk to the next by a caller that scores its chunks one at a time
 * (a pool thread): fresh memory costs a page fault per 4 KiB on first touch, which on a VM is more than the parse.
 * The arrays it hands out are longer than asked, except `features` (the model's input tensor).
 */
export class CsvScratch {
  private f32 = new Float32Array(0);
  private f64 = new Float64Array(0);
  private offsets = [new Float64Array(0), new Float64Array(0), new Float64Array(0), new Float64Array(0)];

  features(n: number, float64: boolean): Float32Array | Float64Array {
    if (float64) {
      if (this.f64.length < n) this.f64 = new Float64Array(n);
      return this.f64.subarray(0, n);
    }
    if (this.f32.length < n) this.f32 = new Float32Array(n);
    return this.f32.subarray(0, n);
  }

  /** Offset array `i` (0-3), at least `n` long. */
  offsetsOf(i: number, n: number): Float64Array {
    if (this.offsets[i]!.length < n) this.offsets[i] = new Float64Array(n);
    return this.offsets[i]!;
  }
}

/**
 * `rows` records of [from, end) into typed columns (in `scratch`'s arrays when given, which the next call reuses);
 * null when the chunk needs the row path (see the file comment).
 */
export function parseCsvChunk(
  buf: Uint8Array,
  from: number,
  end: number,
  rows: number,
  plan: CsvPlan,
  scratch: CsvScratch = new CsvScratch(),
): CsvColumns | null {
  const { fields, slotOf, width, idField } = plan;
  const features = scratch.features(rows * width, plan.float64);
  const lineStart = scratch.offsetsOf(0, rows);
  const lineEnd = scratch.offsetsOf(1, rows);
  const idStart = idField >= 0 ? scratch.offsetsOf(2, rows) : null;
  const idEnd = idField >= 0 ? scratch.offsetsOf(3, rows) : null;
  let p = from;
  let r = 0;
  while (p < end) {
    const c0 = buf[p]!;
    if (c0 === LF) {
      p++;
      continue;
    }
    if (c0 === CR && buf[p + 1] === LF) {
      p += 2;
      continue;
    }
    if (r >= rows) return null;
    const ls = p;
    let f = 0;
    const base = r * width;
    for (;;) {
      const fs = p;
      const slot = f < fields ? slotOf[f]! : -1;
      if (slot >= 0) {
        // A number: sign, digits, fraction, exponent, then a delimiter. Up to 15 significant digits and a power of
        // ten up to 22 give the correctly rounded double by one multiplication or division, as `Number` would.
        let i = p;
        let c = buf[i]!;
        let neg = false;
        if (c === MINUS) {
          neg = true;
          c = buf[++i]!;
        } else if (c === PLUS) c = buf[++i]!;
        let mant = 0;
        let sig = 0;
        let exp = 0;
        let digits = 0;
        while (c >= ZERO && c <= NINE) {
          if (mant !== 0 || c !== ZERO) {
            if (sig < 15) {
              mant = mant * 10 + (c - ZERO);
              sig++;
            } else exp++;
          }
          digits++;
          c = buf[++i]!;
        }
        if (c === DOT) {
          c = buf[++i]!;
          while (c >= ZERO && c <= NINE) {
            if (mant !== 0 || c !== ZERO) {
              if (sig < 15) {
                mant = mant * 10 + (c - ZERO);
                sig++;
                exp--;
              }
            } else exp--;
            digits++;
            c = buf[++i]!;
          }
        }
        let ok = digits > 0;
        if (ok && (c === 101 || c === 69)) {
          c = buf[++i]!;
          let eneg = false;
          if (c === MINUS) {
            eneg = true;
            c = buf[++i]!;
          } else if (c === PLUS) c = buf[++i]!;
          let e = 0;
          let ed = 0;
          while (c >= ZERO && c <= NINE && ed < 6) {
            e = e * 10 + (c - ZERO);
            ed++;
            c = buf[++i]!;
          }
          ok = ed > 0;
          exp += eneg ? -e : e;
        }
        let v: number;
        if (ok && i <= end && (i === end || c === COMMA || c === LF || c === CR) && exp >= -22 && exp <= 22) {
          v = exp === 0 ? mant : exp > 0 ? mant * POW10[exp]! : mant / POW10[-exp]!;
          if (neg) v = -v;
          p = i;
        } else {
          // The rare shapes (whitespace, many digits, a huge exponent): the row path's own rules, on a string.
          let j = p;
          while (j < end) {
            const d = buf[j]!;
            if (d === COMMA || d === LF || d === CR) break;
            j++;
          }
          const cell = latin1(buf, p, j);
          v = +cell;
          if (cell.trim() === '' || !Number.isFinite(v) || !NUMBER_RE.test(cell)) return null;
          p = j;
        }
        features[base + slot] = v;
      } else {
        while (p < end) {
          const d = buf[p]!;
          if (d === COMMA || d === LF || d === CR) break;
          p++;
        }
      }
      if (f === idField) {
        idStart![r] = fs;
        idEnd![r] = p;
      }
      f++;
      if (p < end && buf[p] === COMMA) {
        p++;
        continue;
      }
      break;
    }
    if (f !== fields) return null;
    lineStart[r] = ls;
    lineEnd[r] = p;
    if (p < end && buf[p] === CR) {
      p++;
      if (p < end && buf[p] !== LF) return null;
    }
    if (p < end) p++; // the LF
    r++;
  }
  if (r !== rows) return null;
  return { rows, features, lineStart, lineEnd, idStart, idEnd };
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

const SCRATCH = new Uint8Array(24);
const BITS_F32 = new Float32Array(1);
const BITS_I32 = new Int32Array(BITS_F32.buffer);
const LOG10_2 = Math.log10(2);

/**
 * Writes a float32 value as the shortest decimal that reads back as the same float32 (what numpy and polars
 * print for float32), and returns the new offset. The rare values outside [1e-15, 1e7) go through `toPrecision`.
 */
export function writeFloat32(out: Uint8Array, o: number, v: number): number {
  if (v === 0) {
    out[o] = ZERO;
    return o + 1;
  }
  if (v < 0 && v > -Infinity) {
    out[o++] = MINUS;
    v = -v;
  }
  if (!(v >= 1e-15 && v < 1e7)) return writeAscii(out, o, byPrecision(v));
  // The decimal places, from the binary exponent: the values that read back as v span one ulp (3/4 of one at a
  // power of two), so with kg = floor(-log10(that span)) + 1 places a multiple of 10^-kg lies among them, and the
  // nearest one does. With kg - 1 places at most one does, and when it does it is the shortest: a decimal with
  // fewer places is a multiple of 10^-(kg-1) too. Here v < 2^24, so kg >= 1.
  BITS_F32[0] = v;
  const bits = BITS_I32[0]!;
  const kg = Math.floor((150 - ((bits >>> 23) & 0xff)) * LOG10_2 + ((bits & 0x7fffff) === 0 ? 0.125 : 0)) + 1;
  let k = kg - 1;
  let m = nearest(v, k);
  if (m < 0) {
    k = kg;
    m = nearest(v, k);
    // Never seen (every float32 power of two and 20M random ones checked against a digit-by-digit search).
    if (m < 0) return writeAscii(out, o, byPrecision(v));
  }
  return v < 1e-4 ? writeScientific(out, o, m, k) : writeDecimal(out, o, m, k);
}

/** The multiple of 10^-k nearest `v`, as an integer (times 10^k), when it reads back as v; else -1. */
function nearest(v: number, k: number): number {
  const m = Math.round(v * POW10[k]!);
  return Math.fround(m / POW10[k]!) === v ? m : -1;
}

// The digit writers below divide with `| 0` or by multiplying: `m` is below 2^31, and that is several times cheaper
// than `%` and Math.floor of a division (most of a CSV job's time was here).

/** `m` times ten to the -`k` as d.ddde-x (for values under 1e-4). */
function writeScientific(out: Uint8Array, o: number, m: number, k: number): number {
  for (;;) {
    const q = (m / 10) | 0;
    if (m < 10 || m - q * 10 !== 0) break;
    m = q;
    k--;
  }
  let n = 0;
  do {
    const q = (m / 10) | 0;
    SCRATCH[n++] = ZERO + m - q * 10;
    m = q;
  } while (m > 0);
  const x = k - (n - 1); // the exponent, negated
  out[o++] = SCRATCH[--n]!;
  if (n > 0) {
    out[o++] = DOT;
    while (n > 0) out[o++] = SCRATCH[--n]!;
  }
  out[o++] = 101; // e
  out[o++] = MINUS;
  if (x >= 10) {
    const t = (x / 10) | 0;
    out[o++] = ZERO + t;
    out[o++] = ZERO + x - t * 10;
  } else out[o++] = ZERO + x;
  return o;
}

/** "00" to "99": two digits per lookup. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => ZERO + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/** `m` times ten to the -`k`, in plain notation without trailing zeros. */
function writeDecimal(out: Uint8Array, o: number, m: number, k: number): number {
  while (k > 0) {
    const q = Math.floor(m * 0.1);
    if (m !== q * 10) break;
    m = q;
    k--;
  }
  let n = 1;
  while (n < 10 && m >= POW10[n]!) n++;
  if (k <= 0) {
    o = writeDigits(out, o, m, n);
    for (; k < 0; k++) out[o++] = ZERO;
    return o;
  }
  if (n <= k) {
    out[o++] = ZERO;
    out[o++] = DOT;
    for (let z = k - n; z > 0; z--) out[o++] = ZERO;
    return writeDigits(out, o, m, n);
  }
  const whole = Math.floor(m / POW10[k]!);
  o = writeDigits(out, o, whole, n - k);
  out[o++] = DOT;
  return writeDigits(out, o, m - whole * POW10[k]!, k);
}

/** `m` as exactly `n` digits (zeros in front), two at a time from the end. */
function writeDigits(out: Uint8Array, o: number, m: number, n: number): number {
  const end = o + n;
  let p = end;
  for (; n >= 2; n -= 2) {
    // m * 0.01 floors to the quotient for m below 2^53: 0.01 as a double is a little over 0.01.
    const q = Math.floor(m * 0.01);
    const r = (m - q * 100) * 2;
    out[--p] = PAIRS[r + 1]!;
    out[--p] = PAIRS[r]!;
    m = q;
  }
  if (n === 1) out[--p] = ZERO + m;
  return end;
}

function writeAscii(out: Uint8Array, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[o++] = s.charCodeAt(i);
  return o;
}

const TEXT = new Uint8Array(40);

/** The shortest decimal string that reads back as the same float32, as writeFloat32 writes it. */
export function shortestFloat32(v: number): string {
  const n = writeFloat32(TEXT, 0, v);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(TEXT[i]!);
  return s;
}

/** The rare values writeFloat32 does not take apart itself (tiny, huge, not finite). */
function byPrecision(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(+s) === v) return String(+s);
  }
  return String(+v.toPrecision(9));
}

/** The longest a float32 takes in writeFloat32 ("-100000000000000000000": under 1e21 String() writes no exponent). */
export const MAX_FLOAT32_BYTES = 24;
