// The engine's modules one by one, not its index: the batch pool's threads load this file, and the index would
// load the whole engine (and zod) into each of them.
import type { Outputs } from '../engine/ort.js';
import { runVersion } from '../engine/runner.js';
import { makeTensor } from '../engine/tensors.js';
import type { ServedVersion } from '../engine/version-pool.js';
import type { TTensorSpec } from '@modelyard/contracts';
import { csvField } from './csv-stream.js';
import { CsvScratch, MAX_FLOAT32_BYTES, parseCsvChunk, type CsvPlan, writeFloat32 } from './columnar-csv.js';

/** A model's answer for n rows as columns: the label per row, and the class probabilities row-major. */
export interface PredictionBlock {
  rows: number;
  /** int64 labels as pairs of 32-bit words (little-endian), other numbers as they are, or strings. */
  labels: ArrayLike<number> | readonly string[];
  int64: boolean;
  /** Class probabilities (rows x classes.length), when the model gives them. */
  probs: Float32Array | Float64Array | null;
  classes: readonly unknown[];
}

/**
 * The label and probability tensors of a classifier, or the one value per row of a regressor, without per-row
 * arrays; null for any other output shape (the row path renders those).
 */
export function predictionBlock(sv: ServedVersion, outputs: Outputs, rows: number): PredictionBlock | null {
  const labelT = sv.labelOutput ? outputs[sv.labelOutput] : undefined;
  const probT = sv.probabilityOutput ? outputs[sv.probabilityOutput] : undefined;
  const classes = sv.probabilityOutput ? (sv.signature.classes ?? []) : [];
  if (!labelT && !probT) {
    const first = outputs[sv.outputNames[0]!];
    if (
      !first ||
      first.type === 'string' ||
      !(first.dims.length === 1 || (first.dims.length === 2 && first.dims[1] === 1))
    )
      return null;
    if (first.type !== 'float32' && first.type !== 'float64') return null;
    return { rows, labels: first.data as Float32Array, int64: false, probs: null, classes: [] };
  }
  if (!labelT || (probT && (probT.dims.length !== 2 || probT.dims[1] !== classes.length || !classes.length)))
    return null;
  if (probT && probT.type !== 'float32' && probT.type !== 'float64') return null;
  if (labelT.dims[0] !== rows) return null;
  const data = labelT.data;
  const int64 = labelT.type === 'int64';
  const labels = int64
    ? new Int32Array((data as BigInt64Array).buffer, (data as BigInt64Array).byteOffset, rows * 2)
    : (data as ArrayLike<number> | string[]);
  return { rows, labels, int64, probs: probT ? (probT.data as Float32Array) : null, classes: probT ? classes : [] };
}

/** A label as a JavaScript value (int64 labels that fit 53 bits as numbers, as JSON answers have them). */
export function labelAt(b: PredictionBlock, r: number): string | number | bigint {
  if (b.int64) {
    const w = b.labels as ArrayLike<number>;
    const lo = w[2 * r]!;
    const hi = w[2 * r + 1]!;
    if ((hi === 0 && lo >= 0) || (hi === -1 && lo < 0)) return lo;
    return (BigInt(hi) << 32n) | BigInt(lo >>> 0);
  }
  return (b.labels as ArrayLike<number | string>)[r]!;
}

/** Whether a version's input can be fed from CSV columns here: one float [N, features] input named by columns. */
export function columnarInput(sv: ServedVersion): TTensorSpec | null {
  const spec = sv.signature.inputs.length === 1 ? sv.signature.inputs[0]! : null;
  if (!spec || (spec.dtype !== 'float32' && spec.dtype !== 'float64') || spec.shape.length !== 2) return null;
  return spec.columns?.length ? spec : null;
}

/**
 * CSV in, CSV out, column by column: a chunk of the input file's bytes is parsed into the model's buffer (see
 * columnar-csv.ts), run once, and the output lines are the input record's bytes (or its id field) followed by the
 * prediction and probabilities written as bytes. `score` returns null when the chunk needs the row path.
 */
export class ColumnarCsv {
  private readonly plan: CsvPlan;
  private readonly labelBytes = new Map<unknown, Uint8Array>();

  private constructor(
    private readonly sv: ServedVersion,
    private readonly spec: TTensorSpec,
    plan: CsvPlan,
  ) {
    this.plan = plan;
  }

  /** Null when this version or these options need the row path for every chunk. */
  static for(
    sv: ServedVersion,
    columns: string[],
    opts: { columns: 'all' | 'id'; idColumn?: string; entityColumn?: string },
  ): ColumnarCsv | null {
    const spec = columnarInput(sv);
    if (!spec || opts.entityColumn !== undefined) return null;
    const at = spec.columns!.map((c) => columns.indexOf(c));
    if (at.some((k) => k < 0)) return null;
    const slotOf = new Int32Array(columns.length).fill(-1);
    at.forEach((k, slot) => {
      slotOf[k] = slot;
    });
    const idField = opts.columns === 'id' ? columns.indexOf(opts.idColumn!) : -1;
    if (opts.columns === 'id' && idField < 0) return null;
    return new ColumnarCsv(sv, spec, {
      fields: columns.length,
      slotOf,
      width: at.length,
      float64: spec.dtype === 'float64',
      idField,
    });
  }

  /**
   * The output lines of records [from, end), or null. With `reuse`, the parse arrays are its scratch and the output
   * is written into `alloc(bytes)` (a buffer of at least that many bytes) when the estimate fits: a caller scoring
   * chunks one at a time keeps both from one chunk to the next.
   */
  async score(
    buf: Uint8Array,
    from: number,
    end: number,
    rows: number,
    reuse?: { scratch: CsvScratch; alloc: (bytes: number) => Uint8Array },
  ): Promise<Uint8Array | null> {
    const parsed = parseCsvChunk(buf, from, end, rows, this.plan, reuse?.scratch);
    if (!parsed) return null;
    const feeds = {
      [this.spec.name]: makeTensor(this.spec, parsed.features, [rows, this.plan.width]),
    };
    const block = predictionBlock(this.sv, await runVersion(this.sv, feeds), rows);
    if (!block) return null;
    const k = block.probs ? block.classes.length : 0;
    let longest = 0;
    for (const b of this.labelBytes.values()) longest = Math.max(longest, b.length);
    // An upper bound: the copied bytes, then per row a comma, the label, k probabilities and a line break.
    const copied = parsed.idStart
      ? sumSpans(parsed.idStart, parsed.idEnd!, rows)
      : sumSpans(parsed.lineStart, parsed.lineEnd, rows);
    const perRow = 2 + Math.max(longest, 24) + k * (1 + MAX_FLOAT32_BYTES);
    const bound = copied + rows * perRow;
    let out: Uint8Array = reuse ? reuse.alloc(bound) : Buffer.allocUnsafe(bound);
    let o = 0;
    const starts = parsed.idStart ?? parsed.lineStart;
    const ends = parsed.idEnd ?? parsed.lineEnd;
    const probs = block.probs;
    for (let r = 0; r < rows; r++) {
      for (let i = starts[r]!, e = ends[r]!; i < e; i++) out[o++] = buf[i]!;
      out[o++] = 44;
      const label = this.label(block, r);
      if (o + label.length + k * (1 + MAX_FLOAT32_BYTES) + 2 > out.length) {
        // Only a label longer than the estimate gets here: grow once.
        const bigger = Buffer.allocUnsafe(out.length * 2 + label.length * rows);
        bigger.set(out.subarray(0, o));
        out = bigger;
      }
      out.set(label, o);
      o += label.length;
      if (probs) {
        for (let c = r * k, ce = c + k; c < ce; c++) {
          out[o++] = 44;
          o = writeFloat32(out, o, probs[c]!);
        }
      }
      out[o++] = 10;
    }
    return out.subarray(0, o);
  }

  private label(b: PredictionBlock, r: number): Uint8Array {
    if (!b.int64 && !b.probs && b.classes.length === 0 && typeof (b.labels as ArrayLike<unknown>)[r] === 'number') {
      // A regressor's value: formatted, not cached.
      const tmp = Buffer.allocUnsafe(32);
      const v = (b.labels as ArrayLike<number>)[r]!;
      return tmp.subarray(0, b.labels instanceof Float32Array ? writeFloat32(tmp, 0, v) : writeAscii(tmp, String(v)));
    }
    const v = labelAt(b, r);
    let bytes = this.labelBytes.get(v);
    if (!bytes) {
      bytes = Buffer.from(csvField(v));
      this.labelBytes.set(v, bytes);
    }
    return bytes;
  }
}

function writeAscii(out: Uint8Array, s: string): number {
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return s.length;
}

function sumSpans(a: Float64Array, b: Float64Array, rows: number): number {
  let s = 0;
  for (let i = 0; i < rows; i++) s += b[i]! - a[i]!;
  return s;
}
