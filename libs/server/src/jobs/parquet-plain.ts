/**
 * A small Parquet writer for the flat tables a batch job writes (issue 23): required columns (no nulls) of float32,
 * float64, int32, int64 or UTF-8 text, PLAIN encoding, one uncompressed v1 data page per column per row group, no
 * statistics. hyparquet-writer checks and writes every value through a DataView and compresses each page with a
 * JavaScript snappy: for a million-row output that cost several times the scoring. Here a numeric column is its
 * typed array's bytes, copied once, and a text column is each value's length and bytes. Anything else (a column
 * with nulls, booleans, a big-endian host) is left to hyparquet-writer: `writePlainParquet` answers null.
 * The file is what the format specifies (parquet.apache.org/docs/file-format): `PAR1`, the column chunks, the
 * FileMetaData in Thrift's compact protocol, its length and `PAR1`; pyarrow, polars and hyparquet read it.
 */
import { endianness } from 'node:os';

/**
 * A text column kept as its UTF-8 bytes (issue 23), for a column only carried from a Parquet input into a Parquet
 * output: the values as a PLAIN page holds them (each a 4-byte little-endian length, then its bytes) in one buffer,
 * and where each value starts (value i is data[offsets[i] + 4 .. offsets[i + 1])). Pages are read in and written
 * out with one copy each; a million strings (or a million one-value Uint8Arrays) cost more to make and collect than
 * the scoring, and so did a copy per value.
 */
export class TextBytes {
  constructor(
    readonly data: Buffer,
    /** length + 1 offsets into `data`, not decreasing. */
    readonly offsets: Int32Array,
  ) {}

  get length(): number {
    return this.offsets.length - 1;
  }

  at(i: number): string {
    return this.data.toString('utf8', this.offsets[i]! + 4, this.offsets[i + 1]!);
  }

  /** Values [from, to), sharing the bytes. */
  slice(from: number, to: number): TextBytes {
    return new TextBytes(this.data, this.offsets.subarray(from, to + 1));
  }

  /** Values [from, to) as a PLAIN page body: a view of the bytes. */
  plainPage(from: number, to: number): Uint8Array {
    return this.data.subarray(this.offsets[from]!, this.offsets[to]!);
  }

  /** The values at `idx[0..n)`, copied. */
  pick(idx: Int32Array, n: number): TextBytes {
    let size = 0;
    for (let i = 0; i < n; i++) size += this.offsets[idx[i]! + 1]! - this.offsets[idx[i]!]!;
    const data = Buffer.allocUnsafe(size);
    const offsets = new Int32Array(n + 1);
    let o = 0;
    for (let i = 0; i < n; i++) {
      o = copyBytes(this.data, this.offsets[idx[i]!]!, this.offsets[idx[i]! + 1]!, data, o);
      offsets[i + 1] = o;
    }
    return new TextBytes(data, offsets);
  }

  toArray(): string[] {
    return Array.from({ length: this.length }, (_, i) => this.at(i));
  }
}

/** Values as an array-like of plain values (TextBytes decoded). */
export const plainValues = <T>(v: ArrayLike<T> | TextBytes): ArrayLike<T | string> =>
  v instanceof TextBytes ? v.toArray() : v;

export type PlainColumn =
  | { name: string; type: 'float32'; values: Float32Array }
  | { name: string; type: 'float64'; values: Float64Array }
  | { name: string; type: 'int32'; values: Int32Array }
  | { name: string; type: 'int64'; values: BigInt64Array }
  /** Strings, or UTF-8 bytes carried as they came (a text column read without decoding). */
  | { name: string; type: 'utf8'; values: ArrayLike<string | Uint8Array> | TextBytes };

// Parquet's Thrift enums (parquet.thrift).
const PHYSICAL = { float32: 4, float64: 5, int32: 1, int64: 2, utf8: 6 } as const;
const REQUIRED = 0;
const PLAIN = 0;
const RLE = 3;
const UTF8 = 0; // ConvertedType
const DATA_PAGE = 0;
const UNCOMPRESSED = 0;

// Thrift compact protocol field types.
const T_I32 = 5;
const T_I64 = 6;
const T_BINARY = 8;
const T_LIST = 9;
const T_STRUCT = 12;

/** A growable byte buffer with the few writes Thrift's compact protocol and PLAIN pages need. */
class Bytes {
  buf: Buffer;
  o = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, size));
  }
  ensure(n: number) {
    if (this.o + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + n));
    this.buf.copy(bigger, 0, 0, this.o);
    this.buf = bigger;
  }
  byte(b: number) {
    this.ensure(1);
    this.buf[this.o++] = b;
  }
  varint(v: number | bigint) {
    let x = BigInt(v);
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.o++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.o++] = Number(x);
  }
  zigzag(v: number | bigint) {
    const x = BigInt(v);
    this.varint(x >= 0n ? x << 1n : (-x << 1n) - 1n);
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.o);
    this.o += b.length;
  }
  get result(): Buffer {
    return this.buf.subarray(0, this.o);
  }
}

/** A Thrift struct in the compact protocol: fields in increasing id order. */
class Struct {
  private last = 0;
  constructor(private readonly w: Bytes) {}
  private header(id: number, type: number) {
    const delta = id - this.last;
    if (delta > 0 && delta <= 15) this.w.byte((delta << 4) | type);
    else {
      this.w.byte(type);
      this.w.zigzag(id);
    }
    this.last = id;
  }
  i32(id: number, v: number) {
    this.header(id, T_I32);
    this.w.zigzag(v);
    return this;
  }
  i64(id: number, v: number | bigint) {
    this.header(id, T_I64);
    this.w.zigzag(v);
    return this;
  }
  string(id: number, s: string) {
    this.header(id, T_BINARY);
    const b = Buffer.from(s);
    this.w.varint(b.length);
    this.w.bytes(b);
    return this;
  }
  struct(id: number, body: (s: Struct) => void) {
    this.header(id, T_STRUCT);
    const s = new Struct(this.w);
    body(s);
    s.end();
    return this;
  }
  list<T>(id: number, elemType: number, items: readonly T[], write: (w: Bytes, item: T) => void) {
    this.header(id, T_LIST);
    if (items.length < 15) this.w.byte((items.length << 4) | elemType);
    else {
      this.w.byte(0xf0 | elemType);
      this.w.varint(items.length);
    }
    for (const item of items) write(this.w, item);
    return this;
  }
  end() {
    this.w.byte(0);
  }
}

const structItem = (body: (s: Struct) => void) => (w: Bytes) => {
  const s = new Struct(w);
  body(s);
  s.end();
};

/** Whether writePlainParquet can write these columns (see the file comment). */
export function plainWritable(columns: readonly { type: string; values: ArrayLike<unknown> | TextBytes }[]): boolean {
  if (endianness() !== 'LE' || !columns.length) return false;
  const rows = columns[0]!.values.length;
  return columns.every((c) => {
    if (c.values.length !== rows) return false;
    if (c.type === 'float32') return c.values instanceof Float32Array;
    if (c.type === 'float64') return c.values instanceof Float64Array;
    if (c.type === 'int32') return c.values instanceof Int32Array;
    if (c.type === 'int64') return c.values instanceof BigInt64Array;
    if (c.type !== 'utf8') return false;
    if (c.values instanceof TextBytes) return true;
    for (let i = 0; i < rows; i++) {
      const v = c.values[i];
      if (typeof v !== 'string' && !(v instanceof Uint8Array)) return false;
    }
    return true;
  });
}

/** The columns as one Parquet file, a row group per `rowGroupRows` rows; null when plainWritable says no. */
export function writePlainParquet(columns: readonly PlainColumn[], rowGroupRows: number): Buffer | null {
  if (!plainWritable(columns)) return null;
  const rows = columns[0]!.values.length;
  const per = Math.max(1, rowGroupRows);
  const groups: PlainColumn[][] = [];
  for (let from = 0; from < rows; from += per) {
    const to = Math.min(rows, from + per);
    groups.push(columns.map((c) => ({ ...c, values: slice(c.values, from, to) }) as PlainColumn));
  }
  const parts = writePlainParquetGroups(groups);
  return parts && Buffer.concat(parts);
}

const slice = (v: PlainColumn['values'], from: number, to: number) =>
  ArrayBuffer.isView(v)
    ? (v as Float32Array).subarray(from, to)
    : v instanceof TextBytes
      ? v.slice(from, to)
      : Array.prototype.slice.call(v, from, to);

/**
 * Row groups (each the same column names and types, as a batch job's chunks are) as the pieces of one Parquet
 * file, in order, to be written one after the other: no copy of the columns into one buffer. Null when
 * plainWritable says no for a group, the groups' columns differ, or there are no rows.
 */
export function writePlainParquetGroups(input: readonly (readonly PlainColumn[])[]): Uint8Array[] | null {
  const list = input.filter((g) => g.length && g[0]!.values.length > 0);
  if (!list.length || !list.every((g) => plainWritable(g) && sameSchema(g, list[0]!))) return null;
  const file = new PlainParquetFile();
  return [PlainParquetFile.HEAD, ...list.flatMap((g) => file.group(g)), ...file.end()];
}

/**
 * One Parquet file written a row group at a time (a batch job's chunk each, as they are scored): `HEAD` first,
 * then each `group`'s pieces, then `end`'s footer. Every group must be plainWritable, with the first's columns.
 */
export class PlainParquetFile {
  static readonly HEAD = Buffer.from('PAR1');
  private at = 4;
  private columns: readonly PlainColumn[] | null = null;
  private readonly groups: { rows: number; bytes: number; chunks: { offset: number; size: number }[] }[] = [];

  /** The pieces of one more row group (a numeric page is a view of its column, not a copy). */
  group(group: readonly PlainColumn[]): Uint8Array[] {
    this.columns ??= group;
    if (!plainWritable(group) || !sameSchema(group, this.columns))
      throw new Error('a row group that cannot be written PLAIN, or with other columns than the first');
    const rows = group[0]!.values.length;
    const parts: Uint8Array[] = [];
    const chunks: { offset: number; size: number }[] = [];
    const start = this.at;
    for (const c of group) {
      const data = pageData(c, 0, rows);
      const header = new Bytes(64);
      new Struct(header)
        .i32(1, DATA_PAGE)
        .i32(2, data.length)
        .i32(3, data.length)
        .struct(5, (s) => s.i32(1, rows).i32(2, PLAIN).i32(3, RLE).i32(4, RLE))
        .end();
      parts.push(header.result, data);
      chunks.push({ offset: this.at, size: header.o + data.length });
      this.at += header.o + data.length;
    }
    this.groups.push({ rows, bytes: this.at - start, chunks });
    return parts;
  }

  /** The footer: the file's metadata, its length and `PAR1`. */
  end(): Uint8Array[] {
    const columns = this.columns ?? [];
    const groups = this.groups;
    const rows = groups.reduce((n, g) => n + g.rows, 0);
    const meta = new Bytes(4096);
    new Struct(meta)
      .i32(1, 1)
      .list(2, T_STRUCT, [null, ...columns], (w, c) =>
        structItem((s) => {
          if (!c) return void s.string(4, 'schema').i32(5, columns.length);
          s.i32(1, PHYSICAL[c.type]).i32(3, REQUIRED).string(4, c.name);
          if (c.type === 'utf8') s.i32(6, UTF8);
        })(w),
      )
      .i64(3, rows)
      .list(4, T_STRUCT, groups, (w, g) =>
        structItem((s) => {
          s.list(1, T_STRUCT, columns, (w2, c) => {
            const k = columns.indexOf(c);
            const ch = g.chunks[k]!;
            structItem((cc) => {
              cc.i64(2, ch.offset).struct(3, (m) => {
                m.i32(1, PHYSICAL[c.type])
                  .list(2, T_I32, [PLAIN, RLE], (w3, e) => w3.zigzag(e))
                  .list(3, T_BINARY, [c.name], (w3, n) => {
                    const b = Buffer.from(n);
                    w3.varint(b.length);
                    w3.bytes(b);
                  })
                  .i32(4, UNCOMPRESSED)
                  .i64(5, g.rows)
                  .i64(6, ch.size)
                  .i64(7, ch.size)
                  .i64(9, ch.offset);
              });
            })(w2);
          })
            .i64(2, g.bytes)
            .i64(3, g.rows);
        })(w),
      )
      .string(6, 'modelyard')
      .end();
    const tail = Buffer.allocUnsafe(8);
    tail.writeUInt32LE(meta.o, 0);
    tail.write('PAR1', 4);
    return [meta.result, tail];
  }
}

/** Rows [from, to) of a column as a PLAIN page body (required: no levels). */
function pageData(c: PlainColumn, from: number, to: number): Uint8Array {
  if (c.type !== 'utf8') {
    const v = c.values.subarray(from, to);
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  if (c.values instanceof TextBytes) return c.values.plainPage(from, to);
  const values = c.values;
  let size = 0;
  for (let i = from; i < to; i++) {
    const v = values[i]!;
    // Each string's UTF-8 length is at most 3 bytes per UTF-16 unit.
    size += 4 + (typeof v === 'string' ? v.length * 3 : v.length);
  }
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = from; i < to; i++) {
    const v = values[i]!;
    let n: number;
    if (typeof v === 'string') {
      n = v.length < 64 && isAscii(v) ? writeAscii(buf, o + 4, v) : buf.write(v, o + 4);
    } else {
      buf.set(v, o + 4);
      n = v.length;
    }
    buf.writeUInt32LE(n, o);
    o += 4 + n;
  }
  return buf.subarray(0, o);
}

/**
 * Copies src[s, e) to dst at `o` and returns the offset past it. Text values (ids, labels) are a few bytes each,
 * and a Buffer.copy call per value cost more than the bytes: a loop for short ones.
 */
export function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, o: number): number {
  if (e - s > 32) {
    dst.set(src.subarray(s, e), o);
    return o + e - s;
  }
  while (s < e) dst[o++] = src[s++]!;
  return o;
}

function sameSchema(a: readonly PlainColumn[], b: readonly PlainColumn[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]!.name && c.type === b[i]!.type);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function writeAscii(buf: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[o + i] = s.charCodeAt(i);
  return s.length;
}
