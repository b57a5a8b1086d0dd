import {
  Bool,
  Float32,
  Float64,
  Int32,
  Int64,
  Table,
  tableFromIPC,
  tableToIPC,
  Type,
  Utf8,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { parquetMetadata, parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { InputError, makeTensor, runVersion, type ServedVersion } from '../engine/index.js';
import type { TTensorSpec } from '@modelyard/contracts';
import { columnarInput, labelAt, predictionBlock } from './batch-columnar.js';
import { shortestFloat32 } from './columnar-csv.js';
import { csvField } from './csv-stream.js';
import type { StoredRow } from './batch-scorer.js';
import {
  plainValues,
  type PlainColumn,
  TextBytes,
  writePlainParquet,
  writePlainParquetGroups,
} from './parquet-plain.js';
import { type FlatType, readFlatColumn } from './parquet-columns.js';
import { contributionColumns, contributionNames, type ExplainRows } from './batch-contributions.js';

/**
 * Parquet and Arrow IPC batch input and output (issue 23): tables read column by column into memory, scored in
 * chunks of rows with the feature columns copied straight into the model's float buffer, written back as columns.
 * Arrow via apache-arrow, Parquet via hyparquet / hyparquet-writer (plain JavaScript, no native build; zstd, gzip
 * and brotli input through hyparquet-compressors). A file that cannot be read, a missing or non-numeric feature
 * column, or a column the output cannot carry fails the job with the reason; a row whose feature is null or NaN
 * goes to the errors file (JSON Lines: line, error, row).
 */

export type ColumnType = 'float32' | 'float64' | 'int32' | 'int64' | 'utf8' | 'bool';
export interface FrameColumn {
  name: string;
  type: ColumnType;
  /**
   * Typed arrays when the column has no nulls; otherwise values with null; TextBytes for a text column only carried
   * from a Parquet input into a Parquet output.
   */
  values: ArrayLike<unknown> | TextBytes;
}
export interface Frame {
  rows: number;
  columns: FrameColumn[];
}

/**
 * At most this many cells (rows x columns read) are held in memory for one Parquet or Arrow input: a cell costs 8
 * bytes or more in memory (a boxed number or a string when the column has nulls), and the worker's heap is shared.
 */
const MAX_CELLS = 100_000_000;

const arrowType = (t: DataType): ColumnType | null => {
  switch (t.typeId) {
    case Type.Float:
      return (t as Float32).precision === 0 ? null : (t as Float32).precision === 1 ? 'float32' : 'float64';
    case Type.Int: {
      const bits: number = (t as unknown as { bitWidth: number }).bitWidth;
      return bits === 64 ? 'int64' : 'int32';
    }
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Utf8View: // what polars writes
      return 'utf8';
    case Type.Bool:
      return 'bool';
    case Type.Dictionary:
      return arrowType((t as unknown as { dictionary: DataType }).dictionary) === 'utf8' ? 'utf8' : null;
    default:
      return null;
  }
};

/** Refuses what cannot be carried, naming the column; `need` are the columns the job reads. */
function unsupported(name: string, type: string): never {
  throw new InputError(
    `Column "${name}" has type ${type}, which a batch job cannot read (numbers, strings and booleans only); ` +
      'drop it, or ask for output.columns "id"',
  );
}

export function readArrow(buf: Uint8Array, need: (name: string) => boolean): Frame {
  let table: Table;
  try {
    table = tableFromIPC(buf);
  } catch (e) {
    throw new InputError(`The Arrow IPC file cannot be read: ${(e as Error).message.slice(0, 200)}`);
  }
  if (table.numRows * table.numCols > MAX_CELLS) throw tooLarge(table.numRows, table.numCols);
  const columns: FrameColumn[] = [];
  for (const field of table.schema.fields) {
    if (!need(field.name)) continue;
    const type = arrowType(field.type);
    if (!type) unsupported(field.name, String(field.type));
    const v = table.getChild(field.name)! as Vector;
    const typed = v.nullCount === 0 && type !== 'utf8' && type !== 'bool';
    columns.push({ name: field.name, type, values: typed ? (v.toArray() as ArrayLike<unknown>) : Array.from(v) });
  }
  return { rows: table.numRows, columns };
}

type TypedCtor = new (n: number) => ArrayLike<unknown>;
const TYPED: Partial<Record<ColumnType, TypedCtor>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
};

const tooLarge = (rows: number, cols: number) =>
  new InputError(
    `The input has ${rows} rows of ${cols} columns, more than one batch job reads at once; split it into smaller files`,
  );

/**
 * `raw`: text columns whose values may stay UTF-8 bytes (a Uint8Array per cell, not decoded): the ones only carried
 * into a Parquet output, where they are written back as they came.
 */
export async function readParquet(
  buf: Uint8Array,
  need: (name: string) => boolean,
  raw: (name: string) => boolean = () => false,
): Promise<Frame> {
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const cannot = (e: unknown) =>
    new InputError(`The Parquet file cannot be read: ${(e as Error).message.slice(0, 200)}`);
  let md: ReturnType<typeof parquetMetadata>;
  try {
    md = parquetMetadata(file);
  } catch (e) {
    throw cannot(e);
  }
  const rows = Number(md.num_rows);
  const top = md.schema.slice(1);
  const columns: FrameColumn[] = [];
  for (let i = 0; i < top.length; i++) {
    const el = top[i]!;
    if (el.num_children) {
      if (need(el.name)) unsupported(el.name, 'a nested group');
      i += el.num_children;
      continue;
    }
    if (!need(el.name)) continue;
    const logical = el.logical_type?.type;
    const type: ColumnType | null =
      el.type === 'FLOAT'
        ? 'float32'
        : el.type === 'DOUBLE'
          ? 'float64'
          : el.type === 'INT32' && !el.converted_type?.startsWith('DATE') && (!logical || logical === 'INTEGER')
            ? 'int32'
            : el.type === 'INT64' && !el.converted_type && (!logical || logical === 'INTEGER')
              ? 'int64'
              : el.type === 'BOOLEAN'
                ? 'bool'
                : el.type === 'BYTE_ARRAY' && (el.converted_type === 'UTF8' || logical === 'STRING')
                  ? 'utf8'
                  : null;
    if (!type) unsupported(el.name, `${el.type}${el.converted_type ? ` (${el.converted_type})` : ''}`);
    columns.push({ name: el.name, type, values: [] });
  }
  if (rows * columns.length > MAX_CELLS) throw tooLarge(rows, columns.length);
  // Columns of the common flat shapes straight into typed arrays (parquet-columns.ts); hyparquet reads the rest.
  const elements = new Map(top.map((el) => [el.name, el]));
  const fast = new Set<string>();
  try {
    for (const c of columns) {
      if (c.type === 'bool') continue;
      const el = elements.get(c.name)!;
      const got = readFlatColumn(file, md, el, c.type as FlatType, rows, compressors, c.type === 'utf8' && raw(c.name));
      if (!got) continue;
      c.values = got;
      fast.add(c.name);
    }
  } catch (e) {
    throw cannot(e);
  }
  const byName = new Map(columns.filter((c) => !fast.has(c.name)).map((c) => [c.name, c]));
  // Those go into typed arrays where numbers (no boxed number per cell for the collector); a column turns into plain
  // values at its first null. Allocated only for them: a million-row array per column cost as much as reading one.
  for (const c of byName.values()) {
    const Typed = TYPED[c.type];
    c.values = Typed ? new Typed(rows) : new Array<unknown>(rows);
  }
  const rawText = columns.filter((c) => c.type === 'utf8' && raw(c.name) && !fast.has(c.name)).map((c) => c.name);
  const read = (names: string[], bytes: boolean) =>
    parquetRead({
      file,
      metadata: md,
      columns: names,
      compressors,
      ...(bytes && { parsers: { stringFromBytes: (b: Uint8Array) => b as unknown as string } }),
      onChunk: ({ columnName, columnData, rowStart }) => {
        const col = byName.get(columnName);
        if (!col) return;
        const n = Math.min(columnData.length, rows - rowStart);
        let out = col.values as unknown[] & { set?: (a: ArrayLike<unknown>, at: number) => void };
        if (ArrayBuffer.isView(out) && !ArrayBuffer.isView(columnData))
          for (let i = 0; i < n; i++)
            if (columnData[i] === null || columnData[i] === undefined) {
              out = Array.from(out as ArrayLike<unknown>);
              col.values = out;
              break;
            }
        if (ArrayBuffer.isView(out) && ArrayBuffer.isView(columnData) && out.constructor === columnData.constructor)
          out.set!((columnData as unknown as Float32Array).subarray(0, n), rowStart);
        else for (let i = 0; i < n; i++) out[rowStart + i] = columnData[i];
      },
    });
  try {
    if (rawText.length) await read(rawText, true);
    const decoded = columns.map((c) => c.name).filter((n) => !rawText.includes(n) && !fast.has(n));
    if (decoded.length) await read(decoded, false);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw cannot(e);
  }
  return { rows, columns };
}

/** A chunk's result: the output columns for its good rows, and its bad rows as JSON Lines. */
export interface FrameChunk {
  output: Frame;
  errors: string;
  rowsOut: number;
  rowsFailed: number;
  stored: StoredRow[];
}

const NUMBER_RE = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** Scores rows [from, to) of a frame; see the file comment. */
export class FrameScorer {
  private readonly spec: TTensorSpec;
  private readonly features: FrameColumn[];
  private readonly carried: FrameColumn[];
  private readonly entity: FrameColumn | null;

  constructor(
    private readonly sv: ServedVersion,
    frame: Frame,
    opts: { columns: 'all' | 'id'; idColumn?: string; entityColumn?: string; contributions?: boolean },
    /** With `opts.contributions`: explains the rows for their contribution columns (batch-contributions.ts). */
    private readonly explain?: ExplainRows,
  ) {
    const spec = columnarInput(sv);
    if (!spec)
      throw new InputError(
        `Version ${sv.version} of ${sv.model} does not take one float input with named columns, ` +
          'which a table input needs',
      );
    this.spec = spec;
    const col = (name: string, what: string) => {
      const c = frame.columns.find((x) => x.name === name);
      if (!c) {
        const names = frame.columns.map((x) => x.name).slice(0, 20);
        throw new InputError(`The ${what} "${name}" is not a column of the input (columns: ${names.join(', ')})`);
      }
      return c;
    };
    this.features = spec.columns!.map((f) => col(f, 'feature'));
    for (const f of this.features)
      if (f.type === 'bool') throw new InputError(`Feature "${f.name}" is boolean; the model needs numbers`);
    this.carried = opts.columns === 'id' ? [col(opts.idColumn!, 'id column')] : frame.columns;
    this.entity = opts.entityColumn ? col(opts.entityColumn, 'entity column') : null;
    if (opts.contributions && !explain) throw new Error('FrameScorer: contribution columns need an explainer');
    // Refuses a model explanations do not cover before anything is scored.
    if (opts.contributions) contributionNames(sv);
  }

  /** The output's column names, for a CSV header. */
  names(classes: readonly unknown[]): string[] {
    return [
      ...this.carried.map((c) => c.name),
      'prediction',
      ...classes.map((c) => `probability_${String(c)}`),
      ...(this.explain ? contributionNames(this.sv) : []),
    ];
  }

  async score(from: number, to: number): Promise<FrameChunk> {
    const w = this.features.length;
    const n = to - from;
    const data = this.spec.dtype === 'float64' ? new Float64Array(n * w) : new Float32Array(n * w);
    const good = new Int32Array(n);
    let g = 0;
    let errors = '';
    // Float columns (a Parquet or Arrow input's) with only finite values: copied column by column, every row good.
    if (finiteFloats(this.features, from, to, data, w)) for (; g < n; g++) good[g] = from + g;
    else
      for (let r = from; r < to; r++) {
        let why: string | null = null;
        for (let c = 0; c < w; c++) {
          const col = this.features[c]!;
          // Feature columns are never kept as bytes (readParquet's `raw` leaves them out).
          const x = (col.values as ArrayLike<unknown>)[r];
          let v: number;
          if (typeof x === 'number') v = x;
          else if (typeof x === 'bigint') v = Number(x);
          else if (typeof x === 'string') v = x.trim() === '' ? NaN : NUMBER_RE.test(x) ? +x : NaN;
          else {
            why = `feature "${col.name}" is missing`;
            break;
          }
          if (!Number.isFinite(v)) {
            const got = typeof x === 'string' ? JSON.stringify(x.slice(0, 40)) : String(x);
            why = `feature "${col.name}" must be a finite number, got ${got}`;
            break;
          }
          data[g * w + c] = v;
        }
        if (why) errors += `${JSON.stringify({ line: r + 1, error: why, row: this.rowObject(r) })}\n`;
        else good[g++] = r;
      }
    const stored: StoredRow[] = [];
    const columns: FrameColumn[] = this.carried.map((c) =>
      // A CSV input's feature columns are text; a table output carries them as the numbers the model read.
      c.type === 'utf8' && this.features.includes(c)
        ? { name: c.name, type: 'float64', values: Float64Array.from(gather(c, good, g) as string[], (x) => +x) }
        : { name: c.name, type: c.type, values: gather(c, good, g) },
    );
    if (g > 0) {
      const feeds = { [this.spec.name]: makeTensor(this.spec, data.subarray(0, g * w), [g, w]) };
      const block = predictionBlock(this.sv, await runVersion(this.sv, feeds), g);
      if (!block) throw new InputError(`The outputs of version ${this.sv.version} cannot be written as table columns`);
      const k = block.probs ? block.classes.length : 0;
      const direct = int64Labels(block.int64 ? (block.labels as Int32Array) : null, g);
      let labels: unknown[] = [];
      if (!direct || this.entity) {
        labels = new Array<unknown>(g);
        for (let r = 0; r < g; r++) labels[r] = labelAt(block, r);
      }
      columns.push(direct ?? predictionColumn(labels));
      for (let c = 0; c < k; c++) {
        const p = new Float32Array(g);
        for (let r = 0; r < g; r++) p[r] = block.probs![r * k + c]!;
        columns.push({ name: `probability_${String(block.classes[c])}`, type: 'float32', values: p });
      }
      if (this.explain) {
        if (!(data instanceof Float32Array))
          throw new InputError(
            `Contribution columns need a float32 model input; version ${this.sv.version} takes float64`,
          );
        const contrib = await contributionColumns(this.sv, this.explain, data.subarray(0, g * w), g);
        contrib.names.forEach((name, c) => columns.push({ name, type: 'float64', values: contrib.values[c]! }));
      }
      if (this.entity)
        for (let r = 0; r < g; r++) {
          const id = (this.entity.values as ArrayLike<unknown>)[good[r]!];
          if (id === null || id === undefined || id === '') continue;
          const probabilities = k
            ? Object.fromEntries(block.classes.map((cl, c) => [String(cl), block.probs![r * k + c]!]))
            : undefined;
          stored.push({
            entityId: String(id),
            prediction: jsonValue(labels[r]),
            ...(probabilities && { probabilities }),
          });
        }
    }
    return { output: { rows: g, columns }, errors, rowsOut: g, rowsFailed: n - g, stored };
  }

  private rowObject(r: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const c of this.carried.length > 20 ? this.features : [...this.carried, ...this.features])
      o[c.name] = jsonValue(c.values instanceof TextBytes ? c.values.at(r) : c.values[r]);
    return o;
  }
}

const UTF8 = new TextDecoder();
const jsonValue = (v: unknown) =>
  v instanceof Uint8Array
    ? UTF8.decode(v)
    : typeof v === 'bigint'
      ? v.toString()
      : typeof v === 'number' && !Number.isFinite(v)
        ? String(v)
        : (v ?? null);

/**
 * Rows [from, to) of float feature columns into `data` (row-major, `w` wide); false, with `data` partly written, when
 * a column is not a float array or holds a value that is not finite (the caller then goes row by row and sets those
 * rows aside with their reason).
 */
function finiteFloats(features: FrameColumn[], from: number, to: number, data: Float32Array | Float64Array, w: number) {
  for (let c = 0; c < w; c++) {
    const values = features[c]!.values;
    if (!(values instanceof Float32Array || values instanceof Float64Array)) return false;
    for (let r = from, o = c; r < to; r++, o += w) {
      const v = values[r]!;
      // v - v is 0 for a finite number, NaN for NaN and the infinities.
      if (v - v !== 0) return false;
      data[o] = v;
    }
  }
  return true;
}

/** The values of `c` at `idx[0..n)`: a view when they are one run of a typed array (the frame outlives the job). */
function gather(c: FrameColumn, idx: Int32Array, n: number): ArrayLike<unknown> | TextBytes {
  const src = c.values;
  // Every row of the chunk is good: its rows are one contiguous run.
  const run = n > 0 && idx[n - 1]! - idx[0]! === n - 1;
  if (src instanceof TextBytes) return run ? src.slice(idx[0]!, idx[0]! + n) : src.pick(idx, n);
  if (run && ArrayBuffer.isView(src) && !(src instanceof DataView))
    return (src as unknown as Float64Array).subarray(idx[0]!, idx[0]! + n);
  if (run) return (src as unknown as { slice(a: number, b: number): ArrayLike<unknown> }).slice(idx[0]!, idx[0]! + n);
  const ctor = (src as { constructor: unknown }).constructor;
  const out =
    ArrayBuffer.isView(src) && ctor !== DataView
      ? new (ctor as new (n: number) => { [i: number]: unknown; length: number })(n)
      : new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = src[idx[i]!];
  return out as ArrayLike<unknown>;
}

/**
 * int64 labels (the words of the label tensor) as an int64 column without a BigInt per row, when every label is
 * within +-2^31 (as predictionColumn makes them); null otherwise.
 */
function int64Labels(words: Int32Array | null, n: number): FrameColumn | null {
  if (!words) return null;
  for (let r = 0; r < n; r++) {
    const lo = words[2 * r]!;
    const hi = words[2 * r + 1]!;
    if (!(hi === 0 && lo >= 0) && !(hi === -1 && lo < 0)) return null;
  }
  const values = new BigInt64Array(n);
  new Int32Array(values.buffer).set(words.subarray(0, 2 * n));
  return { name: 'prediction', type: 'int64', values };
}

function predictionColumn(labels: unknown[]): FrameColumn {
  if (labels.every((l) => typeof l === 'string')) return { name: 'prediction', type: 'utf8', values: labels };
  if (labels.every((l) => typeof l === 'number' && Number.isInteger(l) && Math.abs(l) <= 2 ** 31))
    return { name: 'prediction', type: 'int64', values: BigInt64Array.from(labels as number[], (l) => BigInt(l)) };
  if (labels.every((l) => typeof l === 'number'))
    return { name: 'prediction', type: 'float32', values: Float32Array.from(labels as number[]) };
  return { name: 'prediction', type: 'utf8', values: labels.map((l) => String(l)) };
}

// ---- writing ----

const ARROW_TYPES: Record<ColumnType, () => DataType> = {
  float32: () => new Float32(),
  float64: () => new Float64(),
  int32: () => new Int32(),
  int64: () => new Int64(),
  utf8: () => new Utf8(),
  bool: () => new Bool(),
};

function toTable(f: Frame): Table {
  const vectors: Record<string, Vector> = {};
  for (const c of f.columns) {
    const typed = ArrayBuffer.isView(c.values);
    vectors[c.name] = typed
      ? vectorFromArray(c.values as Float32Array)
      : vectorFromArray(Array.from(plainValues(c.values)), ARROW_TYPES[c.type]());
  }
  return new Table(vectors);
}

/** One chunk's output as an Arrow IPC stream: the part file of a Parquet or Arrow output. */
export const framePart = (f: Frame): Uint8Array => tableToIPC(toTable(f), 'stream');

/** One chunk's output as CSV lines (no header). */
export function frameCsv(f: Frame): string {
  const lines: string[] = new Array(f.rows);
  const cells = f.columns.map((c) => (c.type === 'float32' ? float32Cell : cell));
  for (let r = 0; r < f.rows; r++) {
    let line = '';
    for (let c = 0; c < f.columns.length; c++)
      line += (c ? ',' : '') + cells[c]!((f.columns[c]!.values as ArrayLike<unknown>)[r]);
    lines[r] = line;
  }
  return f.rows ? `${lines.join('\n')}\n` : '';
}
const cell = (v: unknown) => (v === null || v === undefined ? '' : csvField(v));
const float32Cell = (v: unknown) => (typeof v === 'number' ? shortestFloat32(v) : cell(v));

/** The parts (Arrow IPC streams, in chunk order) as one Arrow IPC file or one Parquet file. */
export function assembleTable(parts: Uint8Array[], format: 'arrow' | 'parquet', rowGroupRows: number): Uint8Array {
  const tables = parts.map((p) => tableFromIPC(p)).filter((t) => t.numRows > 0);
  const table = tables.length ? tables.reduce((a, b) => a.concat(b)) : new Table();
  if (format === 'arrow') return tableToIPC(table, 'file');
  const columns = table.schema.fields.map((field): FrameColumn => {
    const v = table.getChild(field.name)!;
    const type = arrowType(field.type)!;
    const values = v.nullCount === 0 && type !== 'utf8' && type !== 'bool' ? v.toArray() : Array.from(v);
    return { name: field.name, type, values };
  });
  return parquetFile(columns, rowGroupRows);
}

const PARQUET_TYPES = {
  float32: 'FLOAT',
  float64: 'DOUBLE',
  int32: 'INT32',
  int64: 'INT64',
  utf8: 'STRING',
  bool: 'BOOLEAN',
} as const;

/**
 * Columns as one Parquet file: plain encoding and no statistics (a dictionary tried on every column and min/max
 * over every value cost more than the scoring), a row group per `rowGroupRows`. Uncompressed pages written by
 * parquet-plain.ts where it can (every column a typed array or text without nulls); snappy pages by
 * hyparquet-writer otherwise.
 */
function parquetFile(columns: FrameColumn[], rowGroupRows: number): Uint8Array {
  // Flat columns with no nulls (what a batch job writes): uncompressed PLAIN pages of the arrays' own bytes.
  const plain = writePlainParquet(columns as PlainColumn[], rowGroupRows);
  if (plain) return plain;
  const columnData = columns.map((c) => ({
    name: c.name,
    data: c.values as Float32Array,
    type: PARQUET_TYPES[c.type] as 'FLOAT',
    nullable:
      !ArrayBuffer.isView(c.values) && Array.prototype.some.call(c.values, (x) => x === null || x === undefined),
    encoding: 'PLAIN' as const,
  }));
  return new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize: Math.max(1, rowGroupRows), statistics: false }));
}

/** Chunks' output columns (in chunk order) as one column each: typed arrays joined, other values concatenated. */
function joinFrames(frames: Frame[]): FrameColumn[] {
  const first = frames.find((f) => f.rows > 0) ?? frames[0];
  if (!first) return [];
  return first.columns.map((c, i) => {
    const parts = frames.filter((f) => f.rows > 0).map((f) => f.columns[i]!);
    const rows = parts.reduce((n, p) => n + p.values.length, 0);
    // A chunk's column may be typed where another's has nulls (or the prediction's type may differ): plain then.
    const ctor = (parts[0]?.values as { constructor: unknown }).constructor;
    const typed =
      ArrayBuffer.isView(parts[0]?.values) &&
      parts.every((p) => (p.values as { constructor: unknown }).constructor === ctor && p.type === c.type);
    if (typed) {
      const out = new (ctor as new (n: number) => Float32Array)(rows);
      let o = 0;
      for (const p of parts) {
        out.set(p.values as Float32Array, o);
        o += p.values.length;
      }
      return { name: c.name, type: c.type, values: out };
    }
    const types = new Set(parts.map((p) => p.type));
    const values = new Array<unknown>(rows);
    let o = 0;
    for (const p of parts) {
      const v = plainValues(p.values);
      for (let r = 0, n = v.length; r < n; r++) values[o++] = v[r];
    }
    if (types.size > 1)
      return { name: c.name, type: 'utf8', values: values.map((v) => (v === null ? null : String(v))) };
    return { name: c.name, type: c.type, values };
  });
}

/** Chunks' output columns (in chunk order) as one Arrow IPC file or one Parquet file, without part files. */
export function writeTable(frames: Frame[], format: 'arrow' | 'parquet', rowGroupRows: number): Uint8Array {
  const columns = joinFrames(frames);
  if (format === 'parquet') return parquetFile(columns, rowGroupRows);
  return tableToIPC(toTable({ rows: columns[0]?.values.length ?? 0, columns }), 'file');
}

/**
 * Like writeTable, as pieces to write one after the other: a Parquet output of flat columns with no null gets a row
 * group per chunk straight from the chunks' columns (parquet-plain.ts), with no joined copy of them.
 */
export function writeTableParts(frames: Frame[], format: 'arrow' | 'parquet', rowGroupRows: number): Uint8Array[] {
  const parts =
    format === 'parquet' && frames.every((f) => f.rows <= rowGroupRows)
      ? writePlainParquetGroups(frames.map((f) => f.columns as PlainColumn[]))
      : null;
  return parts ?? [writeTable(frames, format, rowGroupRows)];
}
