import { Tensor, type Feeds } from './ort.js';

/**
 * A tensor as it crosses to another thread (the side runner's) or process (a contained version's) and back, by
 * structured clone: its type, data and dims. onnxruntime's Tensor does not survive the clone; these do.
 */
export interface WireTensor {
  type: string;
  data: ArrayBufferView | readonly string[];
  dims: readonly number[];
}

/** Named tensors as they cross (the data is not copied here; the clone or a transfer moves it). */
export function toWire(tensors: Feeds): Record<string, WireTensor> {
  const wire: Record<string, WireTensor> = {};
  for (const [k, t] of Object.entries(tensors)) wire[k] = { type: t.type, data: t.data, dims: [...t.dims] };
  return wire;
}

/** Named tensors back from the wire. */
export function fromWire(wire: Record<string, WireTensor>): Feeds {
  const tensors: Feeds = {};
  for (const [k, t] of Object.entries(wire))
    tensors[k] = new Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  return tensors;
}
