import { InputError, type Tensor } from '../../engine/index.js';
import type { TensorDtype } from '@modelyard/contracts';

/**
 * The raw tensor encoding of the OIP binary tensor extension (KServe's and Triton's): fixed-size elements
 * little-endian, row-major, with no padding; BOOL one byte each; BYTES each element as a 4-byte little-endian
 * length and that many bytes. Pure functions over buffers: the HTTP framing is in oip-v2.format.ts.
 */

type Typed =
  | Float32Array<ArrayBuffer>
  | Float64Array<ArrayBuffer>
  | BigInt64Array<ArrayBuffer>
  | BigUint64Array<ArrayBuffer>
  | Int32Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | Int16Array<ArrayBuffer>
  | Uint16Array<ArrayBuffer>
  | Int8Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>;

/** The typed array onnxruntime-node takes for each fixed-size dtype (float16 as its raw bits in a Uint16Array). */
const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  float16: Uint16Array,
} as const;

type FixedDtype = keyof typeof ARRAYS;

/** Bytes per element of a fixed-size dtype; undefined for `string` (BYTES), whose elements vary in length. */
export function elementBytes(dtype: TensorDtype): number | undefined {
  return dtype === 'string' ? undefined : ARRAYS[dtype].BYTES_PER_ELEMENT;
}

/** The wire is little-endian; typed arrays use the host's order. Node runs big-endian only on s390x. */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapped(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let k = 0; k < width; k++) out[i + k] = bytes[i + width - 1 - k]!;
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One input's raw bytes as the typed data its tensor needs, checked as the JSON path checks values: floats
 * finite, BOOL 0 or 1, BYTES well-formed UTF-8 with exactly `count` elements filling `bytes`. `what` names the
 * input in errors. The caller has checked that a fixed-size input's byte count is count x element size.
 */
export function tensorDataFromBytes(
  dtype: TensorDtype,
  bytes: Uint8Array,
  count: number,
  what: string,
): Typed | string[] {
  if (dtype === 'string') return stringsFromBytes(bytes, count, what);
  const Ctor = ARRAYS[dtype as FixedDtype];
  // A fresh, aligned copy: the request's buffer is neither aligned for the element size nor ours to keep.
  const data = new Ctor(count);
  const own = new Uint8Array(data.buffer);
  own.set(HOST_LE || Ctor.BYTES_PER_ELEMENT === 1 ? bytes : swapped(bytes, Ctor.BYTES_PER_ELEMENT));
  if (dtype === 'float32' || dtype === 'float64') {
    const f = data as Float32Array | Float64Array;
    for (let i = 0; i < f.length; i++) {
      if (!Number.isFinite(f[i]!)) throw new InputError(`${what}: element ${i} must be a finite number, got ${f[i]}`);
    }
  } else if (dtype === 'bool') {
    for (let i = 0; i < data.length; i++) {
      if (own[i]! > 1) throw new InputError(`${what}: element ${i} must be a BOOL byte (0 or 1), got ${own[i]}`);
    }
  }
  return data;
}

function stringsFromBytes(bytes: Uint8Array, count: number, what: string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (out.length === count) throw new InputError(`${what}: the binary data holds more than ${count} BYTES elements`);
    if (at + 4 > bytes.length) throw new InputError(`${what}: BYTES element ${out.length} has a truncated length`);
    const len = view.getUint32(at, true);
    at += 4;
    if (at + len > bytes.length) {
      throw new InputError(`${what}: BYTES element ${out.length} says ${len} bytes, ${bytes.length - at} are left`);
    }
    try {
      out.push(utf8.decode(bytes.subarray(at, at + len)));
    } catch {
      throw new InputError(`${what}: BYTES element ${out.length} is not UTF-8 text (the model takes strings)`);
    }
    at += len;
  }
  if (out.length !== count) {
    throw new InputError(`${what}: the shape needs ${count} BYTES elements, the binary data holds ${out.length}`);
  }
  return out;
}

/** An output tensor as the extension's raw bytes. */
export function tensorBytes(t: Tensor): Buffer {
  if (t.type === 'string') {
    const parts: Buffer[] = [];
    for (const s of t.data as string[]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(b.length);
      parts.push(len, b);
    }
    return Buffer.concat(parts);
  }
  const data = t.data as Typed;
  const width = data.BYTES_PER_ELEMENT;
  if (HOST_LE || width === 1) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(swapped(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width));
}
