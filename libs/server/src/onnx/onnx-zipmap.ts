import { AppError } from '../platform/errors.js';
import { decodeOnnxModel, findZipMaps, parseMetadataList, type ZipMapInfo } from './onnx-model.js';
import {
  FIELD,
  has,
  int64ToNumber,
  ONNX_ELEMENT_TYPE,
  OnnxTypes,
  type OnnxDimension,
  type OnnxNode,
  type OnnxValueInfo,
} from './onnx-proto.js';
import { encodeLengthDelimited, scanFields, type WireField } from './onnx-wire.js';

/** Metadata key recording what stripZipMap replaced (JSON list of { output, input, keyType, classes }). */
export const ZIPMAP_METADATA_KEY = 'modelyard.zipmap_stripped';

export interface StripZipMapResult {
  /** The edited model, or the input bytes when nothing changed. */
  bytes: Buffer;
  changed: boolean;
  /** The ZipMaps that were replaced. */
  zipMaps: ZipMapInfo[];
  /** Label of each probability column, in order (from the ZipMap's classlabels_* attribute). */
  classes?: (number | string)[];
  warnings: string[];
}

const toBuffer = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const isZipMap = (n: OnnxNode) => n.op_type === 'ZipMap' && n.domain === 'ai.onnx.ml';

/**
 * Makes a scikit-learn classifier exported by sklearn-onnx servable from onnxruntime-node, which cannot return
 * ZipMap's `seq(map(label, float))` output ("Non tensor type is temporarily not supported").
 *
 * Each `ZipMap(X) -> Y` whose Y is a graph output is replaced by `Identity(X) -> Y`, and Y is redeclared as
 * `tensor(float) [N, C]`. So **the output keeps its name** (`output_probability` in sklearn-onnx models): clients
 * that ask for it by name get the probabilities, one column per class. Identity rather than renaming X keeps the
 * edit local (no other node, subgraph or value_info refers to Y) and onnxruntime's optimiser removes it.
 * The class labels, which lived only in the ZipMap attribute, are written to the `classes` metadata entry (the
 * column order of Y), and `modelyard.zipmap_stripped` records what was changed.
 *
 * Works on the raw bytes: fields other than the replaced node, the redeclared output and the metadata are copied
 * as they were. VALIDATION_FAILED if the bytes are not an ONNX model.
 */
export function stripZipMap(bytes: Uint8Array): StripZipMapResult {
  const model = decodeOnnxModel(bytes);
  const graph = model.graph!;
  const warnings: string[] = [];

  // A ZipMap whose maps feed other nodes cannot become a tensor without changing what those nodes receive.
  const consumed = new Set(graph.node.filter((n) => !isZipMap(n)).flatMap((n) => n.input));
  const zipMaps = findZipMaps(model).filter((z) => {
    if (!consumed.has(z.output)) return true;
    warnings.push(
      `ZipMap output "${z.output}" is used by other nodes, so it was left in place; onnxruntime-node cannot return it.`,
    );
    return false;
  });
  if (!zipMaps.length) return { bytes: toBuffer(bytes), changed: false, zipMaps: [], warnings };

  const classes = zipMaps[0]!.classes.length ? zipMaps[0]!.classes : undefined;
  if (zipMaps.some((z) => JSON.stringify(z.classes) !== JSON.stringify(zipMaps[0]!.classes))) {
    warnings.push(
      `The model has ${zipMaps.length} ZipMaps with different labels; classes are taken from "${zipMaps[0]!.output}".`,
    );
  }
  if (!classes)
    warnings.push(`ZipMap "${zipMaps[0]!.output}" declares no class labels; give the classes at registration.`);

  const top = scanFields(bytes);
  const graphFields = top.filter((f) => f.field === FIELD.model.graph);
  // Protobuf allows a message field to be split and merged, but no ONNX writer does it; we would edit the wrong half.
  if (graphFields.length !== 1)
    throw new AppError(
      'VALIDATION_FAILED',
      'The ONNX file stores its graph in an unusual layout (split graph field); re-save it with the onnx package.',
    );

  const newGraph = rewriteGraph(
    bytes,
    graphFields[0]!,
    zipMaps,
    batchDimension(
      graph.input,
      graph.initializer.map((t) => t.name),
    ),
  );

  const existingClasses = model.metadata_props
    .filter((p) => p.key === 'classes')
    .map((p) => parseMetadataList(p.value));
  if (classes && existingClasses.some((c) => JSON.stringify(c) !== JSON.stringify(classes))) {
    warnings.push(
      `metadata classes ${JSON.stringify(existingClasses.at(-1))} differ from the ZipMap labels ${JSON.stringify(classes)}; the ZipMap labels give the column order, so they replace the metadata.`,
    );
  }
  const replacedKeys = new Set([ZIPMAP_METADATA_KEY, ...(classes ? ['classes'] : [])]);
  const metadata = [
    ...(classes ? [{ key: 'classes', value: JSON.stringify(classes) }] : []),
    {
      key: ZIPMAP_METADATA_KEY,
      value: JSON.stringify(
        zipMaps.map(({ output, input, keyType, classes: c }) => ({ output, input, keyType, classes: c })),
      ),
    },
  ];

  const pieces: Uint8Array[] = [];
  for (const f of top) {
    if (f.field === FIELD.model.graph) {
      pieces.push(encodeLengthDelimited(FIELD.model.graph, newGraph));
    } else if (f.field === FIELD.model.metadataProps && f.wireType === 2) {
      const entry = OnnxTypes.StringStringEntryProto.decode(bytes.subarray(f.valueStart, f.valueEnd)) as unknown as {
        key: string;
      };
      if (!replacedKeys.has(entry.key)) pieces.push(bytes.subarray(f.start, f.end));
    } else {
      pieces.push(bytes.subarray(f.start, f.end));
    }
  }
  for (const m of metadata)
    pieces.push(encodeLengthDelimited(FIELD.model.metadataProps, OnnxTypes.StringStringEntryProto.encode(m).finish()));
  // Identity lives in the default domain; a model importing only ai.onnx.ml needs it declared.
  if (!model.opset_import.some((o) => o.domain === '' || o.domain === 'ai.onnx')) {
    const version = defaultOpsetFor(int64ToNumber(model.ir_version));
    pieces.push(
      encodeLengthDelimited(
        FIELD.model.opsetImport,
        OnnxTypes.OperatorSetIdProto.encode({ domain: '', version }).finish(),
      ),
    );
  }
  return { bytes: Buffer.concat(pieces), changed: true, zipMaps, classes, warnings };
}

function rewriteGraph(
  bytes: Uint8Array,
  graphField: WireField,
  zipMaps: ZipMapInfo[],
  batchDim: OnnxDimension,
): Uint8Array {
  const byOutput = new Map(zipMaps.map((z) => [z.output, z]));
  const pieces: Uint8Array[] = [];
  for (const f of scanFields(bytes, graphField.valueStart, graphField.valueEnd)) {
    const payload = bytes.subarray(f.valueStart, f.valueEnd);
    if (f.field === FIELD.graph.node && f.wireType === 2) {
      const node = OnnxTypes.NodeProto.decode(payload) as unknown as OnnxNode;
      const z = isZipMap(node) ? byOutput.get(node.output[0] ?? '') : undefined;
      if (z) {
        // The ZipMap's name is free now, and node names must stay unique.
        const identity = {
          input: [z.input],
          output: [z.output],
          name: node.name || `${z.output}_identity`,
          op_type: 'Identity',
          doc_string: 'Replaced a ZipMap (modelyard): the output is the class probability tensor.',
        };
        pieces.push(encodeLengthDelimited(FIELD.graph.node, OnnxTypes.NodeProto.encode(identity).finish()));
        continue;
      }
    } else if ((f.field === FIELD.graph.output || f.field === FIELD.graph.valueInfo) && f.wireType === 2) {
      const info = OnnxTypes.ValueInfoProto.decode(payload) as unknown as OnnxValueInfo;
      const z = byOutput.get(info.name);
      if (z && f.field === FIELD.graph.valueInfo) continue; // a stale seq(map) annotation; the output says it all
      if (z) {
        const classDim = z.classes.length ? { dim_value: z.classes.length } : {};
        const output = {
          name: z.output,
          type: { tensor_type: { elem_type: ONNX_ELEMENT_TYPE.FLOAT, shape: { dim: [batchDim, classDim] } } },
          doc_string: `Class probabilities, one column per class, in this order: ${JSON.stringify(z.classes)}. Was a ZipMap seq(map) output.`,
        };
        pieces.push(encodeLengthDelimited(FIELD.graph.output, OnnxTypes.ValueInfoProto.encode(output).finish()));
        continue;
      }
    }
    pieces.push(bytes.subarray(f.start, f.end));
  }
  return Buffer.concat(pieces);
}

/** The batch dimension of the first fed input (sklearn-onnx: unnamed), reused for the probability output. */
function batchDimension(inputs: OnnxValueInfo[], initializers: string[]): OnnxDimension {
  const first = inputs.find((i) => !initializers.includes(i.name));
  const dim = first?.type?.tensor_type?.shape?.dim[0];
  if (dim && has(dim, 'dim_value')) return { dim_value: int64ToNumber(dim.dim_value) };
  if (dim && has(dim, 'dim_param')) return { dim_param: dim.dim_param };
  return {};
}

/** A default-domain opset the model's IR version allows (IR 3 -> 8, IR 4-6 -> 9, IR 7+ -> 13). */
function defaultOpsetFor(irVersion: number): number {
  return irVersion >= 7 ? 13 : irVersion >= 4 ? 9 : 8;
}
