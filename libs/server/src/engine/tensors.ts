import type { TSignature, TTensorSpec } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';
import { Tensor, type Feeds } from './ort.js';

/**
 * The engine's one tensor builder: rows of a request, of a batch file, of a model's sample rows or of a
 * reference dataset become typed tensors here, checked value by value against the signature.
 */

/** A 400 that names where the input is wrong: the row and feature, or the input tensor. */
export class InputError extends AppError {
  constructor(message: string, details?: unknown) {
    super('BAD_REQUEST', message, details);
  }
}

export interface ServingLimits {
  maxRows: number;
}

type FloatArray = Float32Array | Float64Array;
type IntArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

const FLOAT_CTORS = { float32: Float32Array, float64: Float64Array } as const;
const INT_CTORS = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
} as const;

/** Values per row of one input, from its fixed dims; undefined when a non-batch dim is dynamic. */
export function rowWidth(spec: TTensorSpec): number | undefined {
  const dims = spec.shape.slice(1);
  return dims.some((d) => d < 0) ? undefined : dims.reduce((a, b) => a * b, 1);
}

/**
 * A typed buffer for `n` values of the input's dtype, and a setter that validates each value as it is
 * written (so a bad value is reported with its position and nothing is copied twice).
 */
export function bufferFor(spec: TTensorSpec, n: number) {
  const t = spec.dtype;
  if (t in FLOAT_CTORS) {
    const data: FloatArray = new FLOAT_CTORS[t as keyof typeof FLOAT_CTORS](n);
    return {
      data,
      set: (i: number, v: unknown) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) return false;
        data[i] = v;
        return true;
      },
    };
  }
  if (t in INT_CTORS) {
    const data: IntArray = new INT_CTORS[t as keyof typeof INT_CTORS](n);
    return {
      data,
      set: (i: number, v: unknown) => {
        if (typeof v !== 'number' || !Number.isInteger(v)) return false;
        data[i] = v;
        return data[i] === v;
      },
    };
  }
  if (t === 'int64' || t === 'uint64') {
    const data = t === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n);
    return {
      data,
      set: (i: number, v: unknown) => {
        if (typeof v === 'number' && Number.isSafeInteger(v)) {
          data[i] = BigInt(v);
          return t === 'int64' || v >= 0;
        }
        if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) {
          try {
            data[i] = BigInt(v);
            return data[i] === BigInt(v);
          } catch {
            return false;
          }
        }
        return false;
      },
    };
  }
  if (t === 'bool') {
    const data = new Uint8Array(n);
    return {
      data,
      set: (i: number, v: unknown) => {
        if (typeof v !== 'boolean' && v !== 0 && v !== 1) return false;
        data[i] = v ? 1 : 0;
        return true;
      },
    };
  }
  if (t === 'string') {
    const data: string[] = new Array(n);
    return {
      data,
      set: (i: number, v: unknown) => {
        if (typeof v !== 'string') return false;
        data[i] = v;
        return true;
      },
    };
  }
  throw new InputError(`Input "${spec.name}" has type ${t}, which cannot be sent as JSON`);
}

export function expected(spec: TTensorSpec): string {
  switch (spec.dtype) {
    case 'float32':
    case 'float64':
      return 'a finite number';
    case 'bool':
      return 'true or false';
    case 'string':
      return 'a string';
    default:
      return `an integer that fits ${spec.dtype}`;
  }
}

export function makeTensor(spec: TTensorSpec, data: ReturnType<typeof bufferFor>['data'], dims: number[]): Tensor {
  return new Tensor(spec.dtype as 'float32', data as Float32Array, dims);
}

/**
 * The Modelyard/MLflow record path: rows of `{feature: value}` straight into one typed array per input,
 * using each input's `columns`. Unknown keys are ignored; a missing or wrong-typed feature is a 400 naming
 * the row and the feature.
 */
export function feedsFromRecords(sig: TSignature, rows: unknown[], limits: ServingLimits): Feeds {
  checkRows(rows.length, limits);
  const feeds: Feeds = {};
  for (const spec of sig.inputs) {
    const cols = spec.columns;
    if (!cols?.length)
      throw new InputError(
        `Input "${spec.name}" has no feature names; send rows as arrays (or register the version with feature_names)`,
      );
    const width = rowWidth(spec);
    if (width !== undefined && width !== cols.length)
      throw new InputError(`Input "${spec.name}" takes ${width} values per row but has ${cols.length} feature names`);
    const buf = bufferFor(spec, rows.length * cols.length);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      if (row === null || typeof row !== 'object' || Array.isArray(row))
        throw new InputError(`Row ${r}: expected an object of features`);
      const rec = row as Record<string, unknown>;
      for (let c = 0; c < cols.length; c++) {
        const v = rec[cols[c]!];
        if (v === undefined) throw new InputError(`Row ${r}: feature "${cols[c]}" is missing`);
        if (!buf.set(r * cols.length + c, v))
          throw new InputError(`Row ${r}: feature "${cols[c]}" must be ${expected(spec)}, got ${preview(v)}`);
      }
    }
    feeds[spec.name] = makeTensor(spec, buf.data, [rows.length, ...shapeAfterBatch(spec, cols.length)]);
  }
  return feeds;
}

/**
 * Row arrays: each row is the flat values of every input in signature order (a single input takes the whole
 * row, nested or flat). Used by `instances`, `dataframe_split` and raw `inputs` lists.
 */
export function feedsFromRowArrays(sig: TSignature, rows: unknown[], limits: ServingLimits): Feeds {
  checkRows(rows.length, limits);
  const widths = sig.inputs.map((s) => rowWidth(s));
  if (sig.inputs.length > 1 && widths.some((w) => w === undefined)) {
    throw new InputError('This model has several inputs with dynamic widths; send one tensor per input by name');
  }
  const flatRows = rows.map((row, r) => {
    if (!Array.isArray(row)) {
      if (
        sig.inputs.length === 1 &&
        widths[0] === 1 &&
        (typeof row === 'number' || typeof row === 'string' || typeof row === 'boolean')
      )
        return [row];
      throw new InputError(`Row ${r}: expected an array of values`);
    }
    return flattenChecked(row, r);
  });
  const total =
    sig.inputs.length === 1 && widths[0] === undefined
      ? (flatRows[0]?.length ?? 0)
      : widths.reduce<number>((a, b) => a + (b ?? 0), 0);
  const feeds: Feeds = {};
  let offset = 0;
  sig.inputs.forEach((spec, i) => {
    const w = widths[i] ?? total;
    const buf = bufferFor(spec, rows.length * w);
    for (let r = 0; r < flatRows.length; r++) {
      const fr = flatRows[r]!;
      if (fr.length !== total) throw new InputError(`Row ${r}: expected ${total} values, got ${fr.length}`);
      for (let c = 0; c < w; c++) {
        const v = fr[offset + c];
        if (!buf.set(r * w + c, v)) {
          const name = spec.columns?.[c] ? `feature "${spec.columns[c]}"` : `value ${offset + c}`;
          throw new InputError(`Row ${r}: ${name} must be ${expected(spec)}, got ${preview(v)}`);
        }
      }
    }
    feeds[spec.name] = makeTensor(spec, buf.data, [rows.length, ...shapeAfterBatch(spec, w)]);
    offset += w;
  });
  return feeds;
}

/** Named tensors given as nested arrays of rows (`inputs: {name: [[...], ...]}`, MLflow/TFS columnar). */
export function feedsFromNamedArrays(sig: TSignature, named: Record<string, unknown>, limits: ServingLimits): Feeds {
  const feeds: Feeds = {};
  let rowsSeen: number | undefined;
  for (const spec of sig.inputs) {
    const v = named[spec.name];
    if (v === undefined)
      throw new InputError(
        `Input "${spec.name}" is missing (the model takes ${sig.inputs.map((s) => s.name).join(', ')})`,
      );
    if (!Array.isArray(v)) throw new InputError(`Input "${spec.name}" must be an array with one element per row`);
    checkRows(v.length, limits);
    if (rowsSeen !== undefined && rowsSeen !== v.length && sig.inputs.length > 1)
      throw new InputError(`Inputs have different row counts (${rowsSeen} and ${v.length})`);
    rowsSeen = v.length;
    const one = feedsFromRowArrays({ ...sig, inputs: [spec] }, v, limits);
    feeds[spec.name] = one[spec.name]!;
  }
  const unknown = Object.keys(named).filter((k) => !sig.inputs.some((s) => s.name === k));
  if (unknown.length)
    throw new InputError(
      `Unknown input(s) ${unknown.join(', ')} (the model takes ${sig.inputs.map((s) => s.name).join(', ')})`,
    );
  return feeds;
}

function shapeAfterBatch(spec: TTensorSpec, width: number): number[] {
  const rest = spec.shape.slice(1);
  if (rest.length === 0) return [];
  if (rest.every((d) => d >= 0)) return rest;
  // One dynamic non-batch dim: it takes whatever the other dims leave of the row width.
  const fixed = rest.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
  return rest.map((d) => (d >= 0 ? d : width / fixed));
}

function checkRows(n: number, limits: ServingLimits) {
  if (n === 0) throw new InputError('No rows to predict');
  if (n > limits.maxRows) throw new InputError(`Too many rows: ${n} (the limit is ${limits.maxRows} per request)`);
}

/** Flattens nested arrays with a depth cap, so a pathological body cannot blow the stack. */
function flattenChecked(v: unknown[], r: number, depth = 0): unknown[] {
  if (depth > 8) throw new InputError(`Row ${r}: nested too deeply`);
  if (!v.some(Array.isArray)) return v;
  const out: unknown[] = [];
  for (const x of v) {
    if (Array.isArray(x)) out.push(...flattenChecked(x, r, depth + 1));
    else out.push(x);
  }
  return out;
}

export function preview(v: unknown): string {
  const s =
    typeof v === 'string'
      ? JSON.stringify(v)
      : v === null
        ? 'null'
        : Array.isArray(v)
          ? 'an array'
          : typeof v === 'object'
            ? 'an object'
            : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** A tensor's values as JS numbers/strings/booleans (int64 beyond 2^53 as strings, never silently rounded). */
export function flatValues(t: Tensor): unknown[] {
  const d = t.data as ArrayLike<unknown>;
  if (t.type === 'int64' || t.type === 'uint64') {
    return Array.from(d as ArrayLike<bigint>, (v) =>
      v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v.toString(),
    );
  }
  if (t.type === 'bool') return Array.from(d, (v) => v === 1 || v === true);
  return Array.from(d);
}

/** Nested rows ([N] -> list, [N, C] -> list of lists, …). */
export function nest(values: unknown[], dims: readonly number[]): unknown[] {
  if (dims.length <= 1) return values;
  const size = values.length / Math.max(dims[0]!, 1);
  return Array.from({ length: dims[0]! }, (_, i) => nest(values.slice(i * size, (i + 1) * size), dims.slice(1)));
}

/** A tensor as nested JS arrays ([N] -> list, [N, C] -> list of lists, ...): what sample outputs store as JSON. */
export function tensorToJson(t: Tensor): unknown[] {
  return nest(flatValues(t), t.dims);
}

/** Rows that are all records by feature name go by name; anything else as arrays of values in input order. */
export function feedsFromRows(sig: TSignature, rows: readonly unknown[], limits: ServingLimits): Feeds {
  return rows.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))
    ? feedsFromRecords(sig, rows as unknown[], limits)
    : feedsFromRowArrays(sig, rows as unknown[], limits);
}

/** Rows a version is warmed with, or that validation and drift profiling run: a model's own rows, not a caller's. */
const WARM_LIMITS: ServingLimits = { maxRows: 1000 };

/**
 * What a version is warmed with when it loads: its sample rows, or one row of zeros when every input has a fixed
 * width (not strings); null when neither fits. The version pool warms with this, and validation warms the same
 * way in its child process, so a model whose warm-up never ends or exhausts memory fails there, not in an api.
 * Throws when the sample rows do not fit the signature.
 */
export function warmFeeds(signature: TSignature, samples: readonly unknown[] | null): Feeds | null {
  if (samples?.length) return feedsFromRows(signature, samples, WARM_LIMITS);
  if (signature.inputs.every((i) => rowWidth(i) !== undefined && i.dtype !== 'string')) {
    const width = signature.inputs.reduce((a, i) => a + rowWidth(i)!, 0);
    return feedsFromRowArrays(signature, [new Array(width).fill(0)], WARM_LIMITS);
  }
  return null;
}
