import { readFile } from 'node:fs/promises';
import type { TensorDtype } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';
import {
  has,
  int64ToNumber,
  int64ToValue,
  ONNX_ELEMENT_TYPE,
  OnnxReadModelProto,
  type OnnxAttribute,
  type OnnxModelProto,
  type OnnxNode,
  type OnnxTensorShape,
  type OnnxTypeProto,
  type OnnxValueInfo,
} from './onnx-proto.js';
import { assertSelfContained } from './onnx-walk.js';

/** ONNX element type -> onnxruntime-node tensor type. Types missing here cannot cross into JavaScript. */
const DTYPE_OF_ELEMENT_TYPE: Partial<Record<number, TensorDtype>> = {
  [ONNX_ELEMENT_TYPE.FLOAT]: 'float32',
  [ONNX_ELEMENT_TYPE.DOUBLE]: 'float64',
  [ONNX_ELEMENT_TYPE.FLOAT16]: 'float16',
  [ONNX_ELEMENT_TYPE.INT64]: 'int64',
  [ONNX_ELEMENT_TYPE.INT32]: 'int32',
  [ONNX_ELEMENT_TYPE.INT16]: 'int16',
  [ONNX_ELEMENT_TYPE.INT8]: 'int8',
  [ONNX_ELEMENT_TYPE.UINT64]: 'uint64',
  [ONNX_ELEMENT_TYPE.UINT32]: 'uint32',
  [ONNX_ELEMENT_TYPE.UINT16]: 'uint16',
  [ONNX_ELEMENT_TYPE.UINT8]: 'uint8',
  [ONNX_ELEMENT_TYPE.BOOL]: 'bool',
  [ONNX_ELEMENT_TYPE.STRING]: 'string',
};

const ELEMENT_TYPE_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(ONNX_ELEMENT_TYPE).map(([k, v]) => [v, k]),
);

export function elementTypeName(elemType: number): string {
  return ELEMENT_TYPE_NAME[elemType] ?? `element type ${elemType}`;
}

export function dtypeOfElementType(elemType: number): TensorDtype | undefined {
  return DTYPE_OF_ELEMENT_TYPE[elemType];
}

/** A graph input or output as declared in the file. */
export interface OnnxValueSpec {
  name: string;
  kind: 'tensor' | 'sequence' | 'map' | 'optional' | 'sparse_tensor' | 'opaque' | 'unknown';
  /** ONNX element type of a tensor (TensorProto.DataType). */
  elemType?: number;
  /** The onnxruntime-node type of a tensor, when there is one. */
  dtype?: TensorDtype;
  /** Tensor dims, -1 where dynamic (dim_param or no value). Absent when the file does not give the rank. */
  shape?: number[];
  /** Readable type, e.g. `tensor(float)[N,4]` or `seq(map(int64,tensor(float)))`. */
  type: string;
}

export interface ZipMapInfo {
  /** The ZipMap node's name. */
  node: string;
  /** The float [N, C] tensor ZipMap turns into maps. */
  input: string;
  /** ZipMap's seq(map) output: a graph output in sklearn-onnx models (`output_probability`). */
  output: string;
  keyType: 'int64' | 'string';
  /** classlabels_int64s / classlabels_strings: the label of each probability column, in order. */
  classes: (number | string)[];
}

export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  opsets: { domain: string; version: number }[];
  graphName: string;
  /** Graph inputs a caller must feed (inputs that are also initializers are left out: they have defaults). */
  inputs: OnnxValueSpec[];
  outputs: OnnxValueSpec[];
  /** `metadata_props` as written in the file (the onnxruntime-node binding does not expose them). */
  metadata: Record<string, string>;
  /** `feature_names`, parsed: one list (the single input, or all inputs in order) or a map input name -> list. */
  featureNames?: string[] | Record<string, string[]>;
  /** `classes`, parsed (JSON array or comma-separated). */
  classes?: (number | string)[];
  /** `class_names`, parsed (JSON array or comma-separated). */
  classNames?: string[];
  zipMaps: ZipMapInfo[];
  /** Labels declared by an ai.onnx.ml classifier node (LinearClassifier, TreeEnsembleClassifier, SVMClassifier). */
  classifierLabels?: { node: string; opType: string; outputs: string[]; classes: (number | string)[] };
  /** Outputs that are not tensors (onnxruntime-node cannot fetch them). */
  nonTensorOutputs: string[];
  /** Problems found while reading metadata; the model itself is fine. */
  warnings: string[];
}

const fail = (reason: string) => new AppError('VALIDATION_FAILED', reason);

/** Well-known file signatures, to tell a user what they uploaded instead of an ONNX model. */
function sniffNonOnnx(bytes: Uint8Array): string | undefined {
  const at = (i: number) => bytes[i] ?? -1;
  const ascii = (s: string) => [...s].every((c, i) => at(i) === c.charCodeAt(0));
  if (ascii('PK\x03\x04'))
    return 'a ZIP archive (for example a PyTorch .pt or Keras .keras file); export the model to ONNX first';
  if (at(0) === 0x80 && at(1) >= 2 && at(1) <= 5)
    return 'a Python pickle (for example a scikit-learn model saved with pickle or joblib); convert it to ONNX first, for example with skl2onnx';
  if (ascii('\x89HDF')) return 'an HDF5 file (for example a Keras .h5 model); export the model to ONNX first';
  if (at(0) === 0x1f && at(1) === 0x8b) return 'a gzip-compressed file; upload the uncompressed .onnx file';
  if (ascii('PAR1')) return 'a Parquet file';
  if (ascii('\x89PNG') || ascii('\xff\xd8\xff') || ascii('GIF8')) return 'an image';
  if (ascii('%PDF')) return 'a PDF document';
  // Exporters write ir_version (field 1, tag byte 0x08) first; text never starts with that byte, and a tiny model
  // made mostly of names could otherwise pass for text.
  if (at(0) === 0x08 || !isMostlyText(bytes)) return undefined;
  const head = Buffer.from(bytes.subarray(0, 512)).toString('utf8').trimStart();
  return /^[[{]/.test(head) ? 'JSON text' : 'a text file';
}

function isMostlyText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 4096);
  let printable = 0;
  for (const b of sample) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127)) printable++;
  return sample.length > 0 && printable / sample.length > 0.97;
}

/**
 * Decodes a ModelProto, or throws VALIDATION_FAILED saying in plain words why the bytes are not an ONNX model.
 * Protobuf is lenient (most byte strings decode to *something*), so the decoded message is also sanity-checked.
 */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModelProto {
  if (bytes.length === 0) throw fail('The file is empty (0 bytes), so it is not an ONNX model.');
  const sniffed = sniffNonOnnx(bytes);
  if (sniffed) throw fail(`This is not an ONNX model: the file looks like ${sniffed}.`);
  // Before decoding: refuses external data and protobuf bombs without materialising anything.
  assertSelfContained(bytes);
  let model: OnnxModelProto;
  try {
    model = OnnxReadModelProto.decode(bytes) as unknown as OnnxModelProto;
  } catch (e) {
    const detail = (e as Error).message;
    if (/index out of range/.test(detail)) {
      throw fail(
        `The file is not a valid ONNX model: it ends in the middle of a record after ${bytes.length} bytes, so it is truncated or corrupt. Upload it again.`,
      );
    }
    throw fail(
      `The file is not a valid ONNX model: it could not be decoded as ONNX protobuf data (${detail}). The file is corrupt or in another format.`,
    );
  }
  const ir = int64ToNumber(model.ir_version);
  if (!has(model, 'ir_version') || ir < 1 || ir > 100) {
    throw fail('The file is not a valid ONNX model: it has no valid IR version. It is corrupt or in another format.');
  }
  if (!model.graph) throw fail('The ONNX model has no graph: the file is truncated or corrupt.');
  if (!model.opset_import.length) {
    throw fail(
      'The ONNX model declares no operator set (opset_import): the file is truncated, corrupt or not written by an ONNX exporter.',
    );
  }
  if (!model.graph.output.length) throw fail('The ONNX graph has no outputs, so there is nothing to serve.');
  return model;
}

function shapeOf(shape: OnnxTensorShape | null | undefined): number[] | undefined {
  if (!shape) return undefined;
  return shape.dim.map((d) => (has(d, 'dim_value') ? int64ToNumber(d.dim_value) : -1));
}

function shapeText(shape: number[] | undefined, dims?: OnnxTensorShape | null): string {
  if (!shape) return '';
  return `[${shape.map((v, i) => (v >= 0 ? String(v) : dims?.dim[i]?.dim_param || '?')).join(',')}]`;
}

export function typeText(tp: OnnxTypeProto | null | undefined): string {
  if (!tp) return 'unknown';
  if (tp.tensor_type) return `tensor(${elementTypeName(tp.tensor_type.elem_type).toLowerCase()})`;
  if (tp.sequence_type) return `seq(${typeText(tp.sequence_type.elem_type)})`;
  if (tp.map_type)
    return `map(${elementTypeName(tp.map_type.key_type).toLowerCase()},${typeText(tp.map_type.value_type)})`;
  if (tp.optional_type) return `optional(${typeText(tp.optional_type.elem_type)})`;
  if (tp.sparse_tensor_type) return `sparse_tensor(${elementTypeName(tp.sparse_tensor_type.elem_type).toLowerCase()})`;
  if (tp.opaque_type) return `opaque(${tp.opaque_type.domain}.${tp.opaque_type.name})`;
  return 'unknown';
}

function valueSpec(v: OnnxValueInfo): OnnxValueSpec {
  const tp = v.type;
  const t = tp?.tensor_type;
  if (t) {
    const shape = shapeOf(t.shape);
    return {
      name: v.name,
      kind: 'tensor',
      elemType: t.elem_type,
      dtype: dtypeOfElementType(t.elem_type),
      shape,
      type: typeText(tp) + shapeText(shape, t.shape),
    };
  }
  const kind = !tp
    ? 'unknown'
    : tp.sequence_type
      ? 'sequence'
      : tp.map_type
        ? 'map'
        : tp.optional_type
          ? 'optional'
          : tp.sparse_tensor_type
            ? 'sparse_tensor'
            : tp.opaque_type
              ? 'opaque'
              : 'unknown';
  return { name: v.name, kind, type: typeText(tp) };
}

const utf8 = (b: Uint8Array) => Buffer.from(b).toString('utf8');

function attribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** Integer or string class labels from a classifier / ZipMap node's attributes. */
function labelsOf(
  node: OnnxNode,
  intsName: string,
  stringsName: string,
): { keyType: 'int64' | 'string'; classes: (number | string)[] } | undefined {
  const ints = attribute(node, intsName);
  if (ints && ints.ints.length) return { keyType: 'int64', classes: ints.ints.map(int64ToValue) };
  const strings = attribute(node, stringsName);
  if (strings && strings.strings.length) return { keyType: 'string', classes: strings.strings.map(utf8) };
  return undefined;
}

const ML_DOMAIN = 'ai.onnx.ml';
const ML_CLASSIFIERS = ['LinearClassifier', 'TreeEnsembleClassifier', 'SVMClassifier'];

/** ZipMap nodes of the main graph whose output is a graph output (what sklearn-onnx emits). */
export function findZipMaps(model: OnnxModelProto): ZipMapInfo[] {
  const graph = model.graph!;
  const outputs = new Set(graph.output.map((o) => o.name));
  return graph.node
    .filter(
      (n) =>
        n.op_type === 'ZipMap' &&
        n.domain === ML_DOMAIN &&
        n.input.length === 1 &&
        n.output.length === 1 &&
        outputs.has(n.output[0]!),
    )
    .map((n) => {
      const labels = labelsOf(n, 'classlabels_int64s', 'classlabels_strings');
      return {
        node: n.name,
        input: n.input[0]!,
        output: n.output[0]!,
        keyType: labels?.keyType ?? 'int64',
        classes: labels?.classes ?? [],
      };
    });
}

/**
 * Parses a list-valued metadata entry. Exporters write JSON (`["a", "b"]`, `[0, 1, 2]`) or a comma-separated
 * string (`a, b`); both are accepted. Comma-separated items that are all integers become numbers.
 */
export function parseMetadataList(value: string): (string | number)[] | undefined {
  const text = value.trim();
  if (!text) return undefined;
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (
        Array.isArray(parsed) &&
        parsed.every((v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))
      )
        return parsed as (string | number)[];
    } catch {
      // Not JSON after all: fall through to the comma-separated reading.
    }
  }
  const items = text
    .replace(/^\[|\]$/g, '')
    .split(',')
    .map((s) => s.trim().replace(/^(["'])(.*)\1$/, '$2'));
  if (items.some((s) => s === '')) return undefined;
  return items.every((s) => /^-?\d+$/.test(s) && Number.isSafeInteger(Number(s))) ? items.map(Number) : items;
}

/** `feature_names`: a list, or a JSON object mapping each input name to its list (multi-input models). */
function parseFeatureNames(value: string, warnings: string[]): string[] | Record<string, string[]> | undefined {
  const text = value.trim();
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (
        parsed &&
        typeof parsed === 'object' &&
        Object.values(parsed).every((l) => Array.isArray(l) && l.every((s) => typeof s === 'string'))
      ) {
        return parsed as Record<string, string[]>;
      }
    } catch {
      // Reported below.
    }
    warnings.push('metadata feature_names is neither a list nor a JSON object of lists; ignored.');
    return undefined;
  }
  const list = parseMetadataList(text);
  if (!list) {
    warnings.push('metadata feature_names is empty or malformed; ignored.');
    return undefined;
  }
  return list.map(String);
}

/** Reads what the registry and the serving engine need from an ONNX file. VALIDATION_FAILED if it is not one. */
export function readOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  const model = decodeOnnxModel(bytes);
  const graph = model.graph!;
  const warnings: string[] = [];

  const metadata: Record<string, string> = {};
  for (const { key, value } of model.metadata_props) {
    if (key in metadata) warnings.push(`metadata key "${key}" appears more than once; the last value is used.`);
    metadata[key] = value;
  }

  // IR < 4 lists initializers among the graph inputs; those have defaults and are not fed by callers.
  const initializers = new Set([
    ...graph.initializer.map((t) => t.name),
    ...graph.sparse_initializer.map((t) => t.values?.name ?? ''),
  ]);
  const inputs = graph.input.filter((i) => !initializers.has(i.name)).map(valueSpec);
  const outputs = graph.output.map(valueSpec);

  const featureNames =
    metadata.feature_names !== undefined ? parseFeatureNames(metadata.feature_names, warnings) : undefined;
  let classes: (string | number)[] | undefined;
  if (metadata.classes !== undefined) {
    classes = parseMetadataList(metadata.classes);
    if (!classes) warnings.push('metadata classes is empty or malformed; ignored.');
  }
  let classNames: string[] | undefined;
  if (metadata.class_names !== undefined) {
    classNames = parseMetadataList(metadata.class_names)?.map(String);
    if (!classNames) warnings.push('metadata class_names is empty or malformed; ignored.');
  }

  let classifierLabels: OnnxModelInfo['classifierLabels'];
  for (const node of graph.node) {
    if (node.domain !== ML_DOMAIN || !ML_CLASSIFIERS.includes(node.op_type)) continue;
    const labels = labelsOf(node, 'classlabels_ints', 'classlabels_strings');
    if (labels && !classifierLabels)
      classifierLabels = { node: node.name, opType: node.op_type, outputs: node.output, classes: labels.classes };
  }

  return {
    irVersion: int64ToNumber(model.ir_version),
    producerName: model.producer_name,
    producerVersion: model.producer_version,
    domain: model.domain,
    modelVersion: int64ToNumber(model.model_version),
    docString: model.doc_string,
    opsets: model.opset_import.map((o) => ({ domain: o.domain || 'ai.onnx', version: int64ToNumber(o.version) })),
    graphName: graph.name,
    inputs,
    outputs,
    metadata,
    featureNames,
    classes,
    classNames,
    zipMaps: findZipMaps(model),
    classifierLabels,
    nonTensorOutputs: outputs.filter((o) => o.kind !== 'tensor').map((o) => o.name),
    warnings,
  };
}

export async function readOnnxModelFile(path: string): Promise<OnnxModelInfo> {
  return readOnnxModel(await readFile(path));
}
