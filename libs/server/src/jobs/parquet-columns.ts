/**
 * A fast path for reading the flat columns a batch job scores from a Parquet file (issue 23). hyparquet decodes
 * every page into plain arrays and then into the caller's callback; for a million rows of four float features that
 * cost several times the scoring (a third of it garbage collection). Here a column whose pages are the common
 * shapes (no repetition, no null, PLAIN or dictionary encoding, data pages v1 or v2, any codec hyparquet reads) is
 * decoded straight into a typed array, using hyparquet's own page header, RLE/bit-packing and decompression
 * functions. `readFlatColumn` answers null for anything else (a null, another encoding, a nested column), and the
 * caller reads that column through hyparquet as before.
 */
import type { ColumnChunk, Compressors, FileMetaData, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { copyBytes, TextBytes } from './parquet-plain.js';

export type FlatType = 'float32' | 'float64' | 'int32' | 'int64' | 'utf8';
export type FlatValues = Float32Array | Float64Array | Int32Array | BigInt64Array | string[];

/** A text column's bytes as they are read, page after page, into one buffer (TextBytes at the end). */
class TextBuilder {
  data: Buffer;
  readonly offsets: Int32Array;
  n = 0;
  constructor(rows: number, guess: number) {
    this.data = Buffer.allocUnsafe(Math.max(1024, guess));
    this.offsets = new Int32Array(rows + 1);
  }
  /** Room for `bytes` more after the first `used` bytes (which a larger buffer keeps). */
  private room(used: number, bytes: number) {
    const need = used + bytes;
    if (need <= this.data.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(need, this.data.length * 2));
    this.data.copy(bigger, 0, 0, used);
    this.data = bigger;
  }
  /** `n` PLAIN values of `page` (each a 4-byte length, then the bytes): their offsets found, then one copy. */
  plain(page: Uint8Array, n: number) {
    if (this.n + n > this.offsets.length - 1) throw new NotFlat();
    const start = this.offsets[this.n]!;
    let o = 0;
    for (let i = 0; i < n; i++) {
      if (o + 4 > page.length) throw new NotFlat();
      o += 4 + ((page[o]! | (page[o + 1]! << 8) | (page[o + 2]! << 16) | (page[o + 3]! << 24)) >>> 0);
      if (o > page.length) throw new NotFlat();
      this.offsets[++this.n] = start + o;
    }
    this.room(start, o);
    this.data.set(page.subarray(0, o), start);
  }
  /** Values of `dictionary` by index. */
  pick(dictionary: TextBytes, idx: Int32Array) {
    for (let i = 0; i < idx.length; i++) {
      const k = idx[i]!;
      if (k >= dictionary.length || this.n >= this.offsets.length - 1) throw new NotFlat();
      const s = dictionary.offsets[k]!;
      const e = dictionary.offsets[k + 1]!;
      const at = this.offsets[this.n]!;
      this.room(at, e - s);
      this.offsets[++this.n] = copyBytes(dictionary.data, s, e, this.data, at);
    }
  }
  done(): TextBytes {
    return new TextBytes(this.data, this.offsets);
  }
}

const TYPED = { float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array } as const;
const WIDTH = { float32: 4, float64: 8, int32: 4, int64: 8 } as const;

interface Reader {
  view: DataView;
  offset: number;
}

/** Thrown inside: the column is not one this reader takes (the caller falls back). */
class NotFlat extends Error {}

/**
 * The column `name` (a top-level leaf, `type` as readParquet classified it) of every row group: a typed array of
 * `rows` values, or strings; null when it is not one this reader takes.
 */
export function readFlatColumn(
  file: ArrayBuffer,
  md: FileMetaData,
  element: SchemaElement,
  type: FlatType,
  rows: number,
  compressors: Compressors,
  /** A text column as its bytes (TextBytes), for a column only carried into a Parquet output. */
  bytes = false,
): FlatValues | TextBytes | null {
  // Required (no definition levels) or optional (levels of 0/1, all 1 here); never repeated.
  if (element.repetition_type === 'REPEATED') return null;
  const optional = element.repetition_type !== 'REQUIRED';
  const out: FlatValues | TextBuilder =
    type !== 'utf8'
      ? new TYPED[type](rows)
      : bytes
        ? new TextBuilder(rows, Number(md.row_groups.reduce((n, g) => n + (g.total_byte_size ?? 0n), 0n)) / 2)
        : new Array<string>(rows);
  let at = 0;
  try {
    for (const group of md.row_groups) {
      const chunk = group.columns.find(
        (c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === element.name,
      );
      if (!chunk?.meta_data || chunk.file_path) return null;
      at = readChunk(file, chunk, type, optional, out, at, compressors);
    }
  } catch (e) {
    if (e instanceof NotFlat) return null;
    throw e;
  }
  if (at !== rows) return null;
  return out instanceof TextBuilder ? out.done() : out;
}

function readChunk(
  file: ArrayBuffer,
  chunk: ColumnChunk,
  type: FlatType,
  optional: boolean,
  out: FlatValues | TextBuilder,
  at: number,
  compressors: Compressors,
): number {
  const meta = chunk.meta_data!;
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
  const end = start + Number(meta.total_compressed_size);
  const total = Number(meta.num_values);
  const reader: Reader = { view: new DataView(file, 0, Math.min(end, file.byteLength)), offset: start };
  let dictionary: FlatValues | TextBytes | null = null;
  let seen = 0;
  while (seen < total && reader.offset < end) {
    const header = parquetHeader(reader);
    const body = new Uint8Array(file, reader.offset, header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    if (header.type === 'DICTIONARY_PAGE') {
      const n = header.dictionary_page_header!.num_values;
      const page = decompressPage(body, header.uncompressed_page_size, meta.codec, compressors);
      if (out instanceof TextBuilder) {
        const d = new TextBuilder(n, page.length);
        d.plain(page, n);
        dictionary = d.done();
      } else dictionary = plain(page, 0, type, n);
      continue;
    }
    let page: Uint8Array;
    let n: number;
    let encoding: string;
    if (header.type === 'DATA_PAGE') {
      const h = header.data_page_header!;
      n = h.num_values;
      encoding = h.encoding;
      page = decompressPage(body, header.uncompressed_page_size, meta.codec, compressors);
      if (optional) {
        // Definition levels, RLE with a 4-byte length: all 1 (no null) or this reader does not take the column.
        const levels = new Uint8Array(n);
        const r: Reader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 };
        readRleBitPackedHybrid(r, 1, levels);
        for (let i = 0; i < n; i++) if (levels[i] !== 1) throw new NotFlat();
        page = page.subarray(r.offset);
      }
    } else if (header.type === 'DATA_PAGE_V2') {
      const h = header.data_page_header_v2!;
      if (h.num_nulls || h.repetition_levels_byte_length) throw new NotFlat();
      n = h.num_values;
      encoding = h.encoding;
      // Levels come first, never compressed; with no null they say nothing.
      const skip = h.definition_levels_byte_length + h.repetition_levels_byte_length;
      const values = body.subarray(skip);
      page = h.is_compressed
        ? decompressPage(values, header.uncompressed_page_size - skip, meta.codec, compressors)
        : values;
    } else continue; // an index page
    if (encoding === 'PLAIN') {
      if (out instanceof TextBuilder) out.plain(page, n);
      else copy(plain(page, 0, type, n), out, at);
    } else if ((encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') && dictionary) {
      const width = page[0]!;
      const idx = new Int32Array(n);
      if (width > 0) {
        const r: Reader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 1 };
        readRleBitPackedHybrid(r, width, idx, page.length - 1);
      }
      if (out instanceof TextBuilder) out.pick(dictionary as TextBytes, idx);
      else gather(dictionary as FlatValues, idx, out, at);
    } else throw new NotFlat();
    at += n;
    seen += n;
  }
  return at;
}

/** `n` PLAIN values from `page` at `offset`. */
function plain(page: Uint8Array, offset: number, type: FlatType, n: number): FlatValues {
  if (type !== 'utf8') {
    const bytes = n * WIDTH[type];
    if (offset + bytes > page.length) throw new NotFlat();
    // A copy into an aligned buffer of its own: the page's bytes may sit at any offset.
    const own = new Uint8Array(bytes);
    own.set(page.subarray(offset, offset + bytes));
    return new TYPED[type](own.buffer);
  }
  const out = new Array<string>(n);
  // Strings, even for a column only carried into a Parquet output: a million small typed arrays (one per value) cost
  // more in garbage collection than decoding them, and the Parquet writer writes ASCII strings as fast as bytes.
  const b = Buffer.from(page.buffer, page.byteOffset, page.byteLength);
  let o = offset;
  for (let i = 0; i < n; i++) {
    if (o + 4 > b.length) throw new NotFlat();
    const len = b.readUInt32LE(o);
    o += 4;
    if (o + len > b.length) throw new NotFlat();
    out[i] = b.toString('utf8', o, o + len);
    o += len;
  }
  return out;
}

/** out[at + i] = dictionary[idx[i]]. */
function gather(dictionary: FlatValues, idx: Int32Array, out: FlatValues, at: number) {
  const d = dictionary as ArrayLike<unknown>;
  for (let i = 0; i < idx.length; i++) if (idx[i]! >= d.length) throw new NotFlat();
  if (out instanceof Float32Array) {
    const dd = dictionary as Float32Array;
    for (let i = 0; i < idx.length; i++) out[at + i] = dd[idx[i]!]!;
  } else if (out instanceof Float64Array) {
    const dd = dictionary as Float64Array;
    for (let i = 0; i < idx.length; i++) out[at + i] = dd[idx[i]!]!;
  } else {
    const o = out as unknown[];
    for (let i = 0; i < idx.length; i++) o[at + i] = d[idx[i]!];
  }
}

function copy(from: FlatValues, to: FlatValues, at: number) {
  if (ArrayBuffer.isView(to)) (to as Float32Array).set(from as Float32Array, at);
  else for (let i = 0; i < from.length; i++) to[at + i] = (from as string[])[i]!;
}
