import type { OnnxGraph, OnnxModelProto, OnnxNode } from './onnx-proto.js';

/**
 * Operators whose output size (or number of iterations) is read from the values of some of their inputs, by input
 * position. Fed by a request, such an input lets one small request ask for any amount of memory or time:
 * `ConstantOfShape([100000, 100000])` is 40 GB, `Range(0, 1e15, 1)` never fits. (Loop's trip count is one too; a Loop
 * always carries a subgraph, which unboundedWork treats as unbounded anyway.) Every other standard operator's work
 * is bounded by its inputs' sizes and the model's own constants, which validation has run once.
 */
const SIZED_BY_VALUES: Readonly<Record<string, readonly number[]>> = {
  Range: [0, 1, 2],
  ConstantOfShape: [0],
  Expand: [1],
  Tile: [1],
  Resize: [2, 3],
  Upsample: [1],
  Pad: [1],
  OneHot: [1],
  CenterCropPad: [1],
  Col2Im: [1, 2],
  MaxUnpool: [2],
  DFT: [1],
  STFT: [1, 3],
  HannWindow: [0],
  HammingWindow: [0],
  BlackmanWindow: [0],
  MelWeightMatrix: [0, 1],
  ImageDecoder: [0],
};

/** Operator domains whose operators are listed above or bounded: ONNX's own and its classic-ML set. */
const KNOWN_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml']);

/** AttributeProto types GRAPH and GRAPHS: a node that carries a subgraph (Loop, Scan, If). */
const SUBGRAPH_ATTRIBUTE = new Set([5, 10]);

const describe = (n: OnnxNode) => `node ${n.name ? `"${n.name}" ` : ''}(${n.op_type})`;

/**
 * Why the work of one run of `model` can grow with the values of a request rather than its size, or null when it
 * cannot. Such a model is served from a process of its own that can be stopped (./engine/contained-session.ts),
 * because a run on the api's event loop cannot be interrupted. Conservative by design: a value computed from a
 * graph input in any way (its shape included) counts as the request's; subgraphs (Loop, Scan, If) and operators
 * of other domains (contrib operators, model-local functions) are not analysed and count as unbounded.
 */
export function unboundedWork(model: OnnxModelProto): string | null {
  const graph = model.graph as OnnxGraph;
  const constant = new Set(graph.initializer.map((t) => t.name));
  for (const s of graph.sparse_initializer) if (s.values?.name) constant.add(s.values.name);
  const fromRequest = new Set(graph.input.map((i) => i.name).filter((n) => !constant.has(n)));
  // ONNX requires nodes in topological order, so one pass sees every input's origin before its use.
  for (const n of graph.node) {
    if (!KNOWN_DOMAINS.has(n.domain ?? '')) return `${describe(n)} is of domain "${n.domain}", which is not analysed`;
    if (n.attribute.some((a) => SUBGRAPH_ATTRIBUTE.has(a.type)))
      return `${describe(n)} runs a subgraph, whose work is not analysed`;
    const sized = SIZED_BY_VALUES[n.op_type];
    const tainted = sized?.find((i) => fromRequest.has(n.input[i] ?? ''));
    if (tainted !== undefined)
      return `${describe(n)} sizes its work by input ${tainted} ("${n.input[tainted]}"), which comes from the request`;
    if (n.input.some((i) => fromRequest.has(i))) for (const o of n.output) fromRequest.add(o);
  }
  return null;
}
