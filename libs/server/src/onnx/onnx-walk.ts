import { AppError } from '../platform/errors.js';

/**
 * A wire-level walk over an uploaded ModelProto that looks for tensors whose data lives outside the file
 * (`data_location = EXTERNAL` or `external_data` entries). onnxruntime resolves such a location as a path on the
 * machine that loads the model, so an uploaded model could otherwise read any file the process can read and hand
 * its bytes back through sample outputs and predictions. Uploaded models must be self-contained.
 *
 * The walk runs before anything decodes the model, so it is built not to amplify: it descends only into the
 * messages that can hold a tensor (graphs, nodes, attributes at any depth, subgraphs, functions, training info),
 * skips every other field by its length without decoding it (a packed int64 field of 100 MB costs nothing), and
 * bounds nesting depth and the number of messages it visits. It allocates nothing per field.
 */

/** Limits of the walk; a model past them is refused rather than walked further. */
export interface WalkLimits {
  /** Nesting depth in messages (ModelProto = 1). A real model nests graphs a handful of levels. */
  maxDepth: number;
  /** Messages visited (graphs, nodes, attributes, tensors, ...). */
  maxMessages: number;
}

export const DEFAULT_WALK_LIMITS: WalkLimits = { maxDepth: 64, maxMessages: 1_000_000 };

export interface ExternalDataRef {
  /** Where the tensor sits, e.g. `graph "main" > initializer "W"` or `graph > node "loop" > attribute "body" > ...`. */
  where: string;
  /** The `location` entry of external_data, when there is one. */
  location?: string;
}

// Message kinds the walk descends into, and for each the fields that embed another message worth walking.
type Kind = 'model' | 'graph' | 'node' | 'attribute' | 'tensor' | 'sparse' | 'training' | 'function' | 'entry';
const CHILDREN: Record<Kind, Partial<Record<number, { kind: Kind; label: string }>>> = {
  model: {
    7: { kind: 'graph', label: 'graph' },
    20: { kind: 'training', label: 'training_info' },
    25: { kind: 'function', label: 'function' },
  },
  graph: {
    1: { kind: 'node', label: 'node' },
    5: { kind: 'tensor', label: 'initializer' },
    15: { kind: 'sparse', label: 'sparse_initializer' },
  },
  node: { 5: { kind: 'attribute', label: 'attribute' } },
  attribute: {
    5: { kind: 'tensor', label: 't' },
    6: { kind: 'graph', label: 'g' },
    10: { kind: 'tensor', label: 'tensors' },
    11: { kind: 'graph', label: 'graphs' },
    22: { kind: 'sparse', label: 'sparse_tensor' },
    23: { kind: 'sparse', label: 'sparse_tensors' },
  },
  // FunctionProto.node (7) and attribute_proto (11, the defaults of a function's attributes; newer ONNX).
  function: { 7: { kind: 'node', label: 'node' }, 11: { kind: 'attribute', label: 'attribute' } },
  training: { 1: { kind: 'graph', label: 'initialization' }, 2: { kind: 'graph', label: 'algorithm' } },
  sparse: { 1: { kind: 'tensor', label: 'values' }, 2: { kind: 'tensor', label: 'indices' } },
  tensor: { 13: { kind: 'entry', label: 'external_data' } },
  entry: {},
};
/** The `name` field of the kinds that have one, to say where a tensor sits. */
const NAME_FIELD: Partial<Record<Kind, number>> = { graph: 2, node: 3, attribute: 1, tensor: 8, function: 1 };

class Malformed extends Error {
  constructor(
    message: string,
    readonly truncated = false,
  ) {
    super(message);
  }
}

/**
 * Every tensor with external data in the model (at most `max` of them), or throws VALIDATION_FAILED when the
 * bytes are not walkable protobuf or exceed the limits.
 */
export function findExternalData(
  bytes: Uint8Array,
  limits: WalkLimits = DEFAULT_WALK_LIMITS,
  max = 5,
): ExternalDataRef[] {
  const found: ExternalDataRef[] = [];
  let messages = 0;
  let pos = 0;

  const varint = (end: number): number => {
    // Up to 10 bytes; values past 2^53 lose precision, which only matters for lengths, and those are range-checked.
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new Malformed('a number is cut off', true);
      const b = bytes[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Malformed('a number is longer than 10 bytes');
  };
  const text = (start: number, end: number, cap = 200) => {
    const s = Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(end - start, cap)).toString('utf8');
    return end - start > cap ? `${s}…` : s;
  };

  /** Walks the message in [start, end); returns the name it found (for the path of its children). */
  const walk = (kind: Kind, start: number, end: number, depth: number, path: string): void => {
    if (depth > limits.maxDepth)
      throw new AppError(
        'VALIDATION_FAILED',
        `The model nests more than ${limits.maxDepth} levels deep; it is refused as a protobuf bomb.`,
      );
    if (++messages > limits.maxMessages)
      throw new AppError(
        'VALIDATION_FAILED',
        `The model has more than ${limits.maxMessages} nested records; it is refused as a protobuf bomb.`,
      );
    // Children are walked after the message's own fields are known (the name may come after them in the file).
    const children: { kind: Kind; label: string; start: number; end: number }[] = [];
    let name: string | undefined;
    let external = false;
    let location: string | undefined;
    let entryKey: string | undefined;
    let entryValue: string | undefined;
    pos = start;
    while (pos < end) {
      const tag = varint(end);
      const field = Math.floor(tag / 8);
      const wireType = tag % 8;
      if (field === 0) throw new Malformed('a record has field number 0');
      if (wireType === 0) {
        const value = varint(end);
        if (kind === 'tensor' && field === 14 && value === 1) external = true;
      } else if (wireType === 1 || wireType === 5) {
        pos += wireType === 1 ? 8 : 4;
        if (pos > end) throw new Malformed('a record is cut off', true);
      } else if (wireType === 2) {
        const length = varint(end);
        const valueStart = pos;
        if (length > end - valueStart)
          throw new Malformed('a record is longer than what contains it', end === bytes.length);
        pos = valueStart + length;
        const child = CHILDREN[kind][field];
        if (child) {
          if (child.kind === 'entry') external = true;
          children.push({ ...child, start: valueStart, end: pos });
        } else if (NAME_FIELD[kind] === field) {
          name = text(valueStart, pos, 80);
        } else if (kind === 'entry' && field === 1) {
          entryKey = text(valueStart, pos, 40);
        } else if (kind === 'entry' && field === 2) {
          entryValue = text(valueStart, pos);
        }
      } else {
        // Groups (3/4) are not used by ONNX, 6/7 do not exist.
        throw new Malformed(`a record has wire type ${wireType}`);
      }
    }
    if (kind === 'entry') {
      if (entryKey === 'location') lastLocation = entryValue;
      return;
    }
    const here = name !== undefined ? `${path} "${name}"` : path;
    for (const c of children) {
      const before = lastLocation;
      lastLocation = undefined;
      walk(c.kind, c.start, c.end, depth + 1, `${here} > ${c.label}`);
      if (c.kind === 'entry') location = lastLocation ?? location;
      lastLocation = before;
      if (found.length >= max) return;
    }
    if (kind === 'tensor' && external && found.length < max)
      found.push({ where: here, ...(location !== undefined ? { location } : {}) });
  };
  let lastLocation: string | undefined;

  try {
    walk('model', 0, bytes.length, 1, 'model');
  } catch (e) {
    if (e instanceof Malformed) {
      // The same words as decodeOnnxModel's, which used to be the first to see these files.
      throw new AppError(
        'VALIDATION_FAILED',
        e.truncated
          ? `The file is not a valid ONNX model: it ends in the middle of a record after ${bytes.length} bytes, so it is truncated or corrupt. Upload it again.`
          : `The file is not a valid ONNX model: it could not be decoded as ONNX protobuf data (${e.message} at byte ${pos}). The file is corrupt or in another format.`,
      );
    }
    throw e;
  }
  return found;
}

/** VALIDATION_FAILED when any tensor of the model keeps its data outside the file. */
export function assertSelfContained(bytes: Uint8Array, limits: WalkLimits = DEFAULT_WALK_LIMITS): void {
  const refs = findExternalData(bytes, limits);
  if (!refs.length) return;
  const list = refs
    .map((r) => (r.location !== undefined ? `${r.where} at location ${JSON.stringify(r.location)}` : r.where))
    .join('; ');
  throw new AppError(
    'VALIDATION_FAILED',
    `The model references external data (${list}); external data is not accepted: upload a self-contained model (onnx.save_model(model, path, save_as_external_data=False)).`,
  );
}
