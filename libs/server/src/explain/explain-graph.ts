import {
  int64ToNumber,
  OnnxTypes,
  type Int64,
  type OnnxAttribute,
  type OnnxModelProto,
  type OnnxNode,
} from '../onnx/onnx-proto.js';

/**
 * What the explainer knows about a model's graph, read from the served ONNX file (no onnxruntime): a linear model
 * or a tree ensemble it can compute itself, exactly, or nothing (`null`), in which case it runs the model on
 * coalition rows. The accepted graphs are one ai.onnx.ml LinearClassifier / LinearRegressor (optionally after a
 * Scaler) or one TreeEnsembleClassifier / TreeEnsembleRegressor reading the model's only input, or a MatMul by a
 * constant (+ Add) after Scaler / Normalizer / OneHotEncoder steps (matMulChain); anything else (neural nets,
 * branches) is explained by running the model.
 */
export type GraphModel = LinearModel | TreeModel | AdditiveModel | FunctionModel;

/**
 * f_o(x) = bias_o + sum_j term_j(x_j)_o: a sum of one function per feature (MatMul+Add after a OneHotEncoder, each
 * feature's categories picking a row of the weights). Its interventional Shapley values are closed form:
 * phi_j = term_j(x_j) - mean over the background of term_j(z_j).
 */
export interface AdditiveModel {
  kind: 'additive';
  output: string;
  m: number;
  k: number;
  bias: Float64Array;
  /** Adds feature j's term at value v to out (k values). */
  term: (j: number, v: number, out: Float64Array) => void;
}

/**
 * A graph the explainer can compute (so no model runs) but whose Shapley values have no closed form, e.g. a
 * Normalizer (x / |x|, every output depends on every feature) before MatMul+Add: enumerated exactly, or sampled.
 */
export interface FunctionModel {
  kind: 'function';
  output: string;
  m: number;
  k: number;
  /** The model on n rows (row-major, m each): n x k outputs. */
  evaluate: (rows: Float32Array, n: number) => Float64Array;
}

export interface LinearModel {
  kind: 'linear';
  /** The graph output explained (scores or probabilities). */
  output: string;
  m: number;
  k: number;
  /** k x m coefficients in terms of the raw input (a Scaler folded in), and k intercepts. */
  weights: Float64Array;
  intercepts: Float64Array;
  /** NONE: the outputs are the linear scores; SOFTMAX / LOGISTIC: probabilities of them. */
  link: 'none' | 'softmax' | 'logistic';
}

/** One tree, flattened: per node its feature, threshold, comparison, children, and (leaves) weights. */
export interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  mode: Uint8Array;
  yes: Int32Array;
  no: Int32Array;
  /** Offset of a leaf's k weights in `weights`; -1 for a branch. */
  leaf: Int32Array;
  weights: Float64Array;
}

export interface TreeModel {
  kind: 'tree';
  output: string;
  m: number;
  k: number;
  trees: Tree[];
  /** Added to the sum of the trees' leaves (base_values; AVERAGE already divided into the leaves). */
  base: Float64Array;
}

// Comparison of a branch: true when x goes to the `yes` child.
const MODES: Record<string, number> = {
  BRANCH_LEQ: 1,
  BRANCH_LT: 2,
  BRANCH_GTE: 3,
  BRANCH_GT: 4,
  BRANCH_EQ: 5,
  BRANCH_NEQ: 6,
  LEAF: 0,
};

export function goesYes(mode: number, x: number, t: number): boolean {
  switch (mode) {
    case 1:
      return x <= t;
    case 2:
      return x < t;
    case 3:
      return x >= t;
    case 4:
      return x > t;
    case 5:
      return x === t;
    default:
      return x !== t;
  }
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

class Attrs {
  private readonly by = new Map<string, OnnxAttribute>();
  constructor(node: OnnxNode) {
    for (const a of node.attribute) this.by.set(a.name, a);
  }
  has(name: string) {
    return this.by.has(name);
  }
  floats(name: string): number[] {
    return this.by.get(name)?.floats ?? [];
  }
  ints(name: string): number[] {
    return (this.by.get(name)?.ints ?? []).map(int64ToNumber);
  }
  strings(name: string): string[] {
    return (this.by.get(name)?.strings ?? []).map(text);
  }
  string(name: string, fallback: string): string {
    const a = this.by.get(name);
    return a && a.s.length ? text(a.s) : fallback;
  }
  int(name: string, fallback: number): number {
    const a = this.by.get(name);
    return a ? int64ToNumber(a.i) : fallback;
  }
}

/**
 * The graph as a model the explainer computes itself, or null. `m` is the number of features of the only input;
 * `output` must be the output the caller sees (a graph output).
 */
export function readGraphModel(bytes: Uint8Array, m: number): GraphModel | null {
  // The full schema: the reading one (decodeOnnxModel) drops float lists, and coefficients and thresholds are
  // float lists. These are the served bytes, which passed validation (self-contained, decodable) at upload.
  const graph = (OnnxTypes.ModelProto.decode(bytes) as unknown as OnnxModelProto).graph;
  if (!graph) return null;
  const outputs = new Set(graph.output.map((o) => o.name));
  const input = graph.input.filter((i) => !graph.initializer.some((t) => t.name === i.name));
  if (input.length !== 1) return null;
  const nodes = graph.node.filter((n) => n.op_type !== 'Identity');
  if (nodes.some((n) => n.op_type === 'MatMul'))
    return matMulChain(graph as unknown as GraphWithInitializers, input[0]!.name, m);
  if (nodes.length === 0 || nodes.length > 2) return null;
  let scale: Float64Array | null = null;
  let offset: Float64Array | null = null;
  let from = input[0]!.name;
  if (nodes.length === 2) {
    const s = nodes[0]!;
    if (s.op_type !== 'Scaler' || s.domain !== 'ai.onnx.ml' || s.input[0] !== from) return null;
    const a = new Attrs(s);
    scale = widen(a.floats('scale'), m, 1);
    offset = widen(a.floats('offset'), m, 0);
    if (!scale || !offset) return null;
    from = s.output[0]!;
  }
  const node = nodes[nodes.length - 1]!;
  if (node.domain !== 'ai.onnx.ml' || node.input[0] !== from) return null;
  const a = new Attrs(node);
  switch (node.op_type) {
    case 'LinearClassifier':
    case 'LinearRegressor':
      return linear(node, a, m, scale, offset, outputs);
    case 'TreeEnsembleClassifier':
    case 'TreeEnsembleRegressor':
      // Trees compare the raw input; a Scaler in front would need its float32 rounding reproduced: run the model.
      return scale ? null : trees(node, a, m, outputs);
    default:
      return null;
  }
}

/** A Scaler's per-feature list: one value for all, or one per feature. */
function widen(values: number[], m: number, fallback: number): Float64Array | null {
  if (values.length === 0) return new Float64Array(m).fill(fallback);
  if (values.length === 1) return new Float64Array(m).fill(values[0]!);
  return values.length === m ? Float64Array.from(values) : null;
}

function linear(
  node: OnnxNode,
  a: Attrs,
  m: number,
  scale: Float64Array | null,
  offset: Float64Array | null,
  outputs: Set<string>,
): LinearModel | null {
  const classifier = node.op_type === 'LinearClassifier';
  const output = node.output[classifier ? 1 : 0];
  if (!output || !outputs.has(output)) return null;
  const coef = a.floats('coefficients');
  const intercepts = a.floats('intercepts');
  const k = classifier
    ? Math.max(a.ints('classlabels_ints').length, a.strings('classlabels_strings').length)
    : a.int('targets', 1);
  // A binary classifier with one row of coefficients has ORT-specific score columns: run the model instead.
  if (k < 1 || coef.length !== k * m || (intercepts.length !== k && intercepts.length !== 0)) return null;
  const post = a.string('post_transform', 'NONE');
  const link = post === 'NONE' ? 'none' : post === 'SOFTMAX' ? 'softmax' : post === 'LOGISTIC' ? 'logistic' : null;
  if (!link || (!classifier && link !== 'none')) return null;
  const weights = new Float64Array(k * m);
  const b = new Float64Array(k);
  for (let o = 0; o < k; o++) {
    b[o] = intercepts[o] ?? 0;
    for (let j = 0; j < m; j++) {
      // Scaler: (x - offset) * scale, folded into the coefficients and intercepts.
      const w = coef[o * m + j]!;
      weights[o * m + j] = w * (scale ? scale[j]! : 1);
      if (offset && scale) b[o]! -= w * offset[j]! * scale[j]!;
    }
  }
  return { kind: 'linear', output, m, k, weights, intercepts: b, link };
}

function trees(node: OnnxNode, a: Attrs, m: number, outputs: Set<string>): TreeModel | null {
  const classifier = node.op_type === 'TreeEnsembleClassifier';
  const output = node.output[classifier ? 1 : 0];
  if (!output || !outputs.has(output)) return null;
  // Probabilities through a logistic or softmax link are not sums of leaves: run the model instead.
  if (a.string('post_transform', 'NONE') !== 'NONE') return null;
  const aggregate = classifier ? 'SUM' : a.string('aggregate_function', 'SUM');
  if (aggregate !== 'SUM' && aggregate !== 'AVERAGE') return null;
  const k = classifier
    ? Math.max(a.ints('classlabels_int64s').length, a.strings('classlabels_strings').length)
    : a.int('n_targets', 1);
  const p = classifier ? 'class_' : 'target_';
  const treeIds = a.ints('nodes_treeids');
  const nodeIds = a.ints('nodes_nodeids');
  const featureIds = a.ints('nodes_featureids');
  const values = a.floats('nodes_values');
  const modes = a.strings('nodes_modes');
  const yesIds = a.ints('nodes_truenodeids');
  const noIds = a.ints('nodes_falsenodeids');
  const wTree = a.ints(`${p}treeids`);
  const wNode = a.ints(`${p}nodeids`);
  const wId = a.ints(`${p}ids`);
  const wVal = a.floats(`${p}weights`);
  const n = treeIds.length;
  const same = [nodeIds, featureIds, values, modes, yesIds, noIds].every((l) => l.length === n);
  if (!n || !same || k < 1 || [wNode, wId, wVal].some((l) => l.length !== wTree.length)) return null;
  // ORT reads a binary classifier with weights for one class only as [1 - p, p]: run the model for that.
  if (classifier && new Set(wId).size !== k) return null;
  if (wId.some((c) => c < 0 || c >= k) || featureIds.some((f) => f < 0 || f >= m)) return null;
  const byTree = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    let list = byTree.get(treeIds[i]!);
    if (!list) byTree.set(treeIds[i]!, (list = []));
    list.push(i);
  }
  const scaleLeaves = aggregate === 'AVERAGE' ? 1 / byTree.size : 1;
  const leafWeights = new Map<string, Float64Array>();
  for (let i = 0; i < wTree.length; i++) {
    const key = `${wTree[i]}:${wNode[i]}`;
    let w = leafWeights.get(key);
    if (!w) leafWeights.set(key, (w = new Float64Array(k)));
    w[wId[i]!]! += wVal[i]! * scaleLeaves;
  }
  const out: Tree[] = [];
  for (const [treeId, idx] of byTree) {
    const local = new Map<number, number>();
    idx.forEach((i, at) => local.set(nodeIds[i]!, at));
    const len = idx.length;
    const t: Tree = {
      feature: new Int32Array(len),
      threshold: new Float64Array(len),
      mode: new Uint8Array(len),
      yes: new Int32Array(len),
      no: new Int32Array(len),
      leaf: new Int32Array(len).fill(-1),
      weights: new Float64Array(0),
    };
    const leafValues: number[] = [];
    for (let at = 0; at < len; at++) {
      const i = idx[at]!;
      const mode = MODES[modes[i]!];
      if (mode === undefined) return null;
      t.mode[at] = mode;
      t.feature[at] = featureIds[i]!;
      t.threshold[at] = values[i]!;
      if (mode === 0) {
        t.leaf[at] = leafValues.length;
        const w = leafWeights.get(`${treeId}:${nodeIds[i]}`) ?? new Float64Array(k);
        leafValues.push(...w);
        continue;
      }
      const y = local.get(yesIds[i]!);
      const f = local.get(noIds[i]!);
      // Children must come later than their parent, which also rules out cycles in a hostile file.
      if (y === undefined || f === undefined || y <= at || f <= at) return null;
      t.yes[at] = y;
      t.no[at] = f;
    }
    // The root is the node no one points to; exporters write it first.
    t.weights = Float64Array.from(leafValues);
    out.push(t);
  }
  const base = new Float64Array(k);
  a.floats('base_values').forEach((v, i) => {
    if (i < k) base[i] = v;
  });
  return { kind: 'tree', output, m, k, trees: out, base };
}

// ---- MatMul+Add graphs, after Scaler / Normalizer / OneHotEncoder steps ----

interface Initializer {
  name: string;
  dims: Int64[];
  data_type: number;
  float_data: number[];
  double_data: number[];
  int64_data: Int64[];
  raw_data: Uint8Array;
}
/** The decoded graph with its initializers' values (the full schema reads them; OnnxGraph types only their names). */
type GraphWithInitializers = Omit<NonNullable<OnnxModelProto['graph']>, 'initializer'> & { initializer: Initializer[] };

/** An initializer's values as numbers (float, double or int64; raw or typed fields), with its dims. */
function initializerValues(t: Initializer): { dims: number[]; values: number[] } | null {
  const dims = t.dims.map(int64ToNumber);
  const raw = t.raw_data?.length ? Buffer.from(t.raw_data) : null;
  let values: number[];
  if (t.data_type === 1)
    values = raw ? Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(i * 4)) : t.float_data;
  else if (t.data_type === 11)
    values = raw ? Array.from({ length: raw.length / 8 }, (_, i) => raw.readDoubleLE(i * 8)) : t.double_data;
  else if (t.data_type === 7)
    values = raw
      ? Array.from({ length: raw.length / 8 }, (_, i) => Number(raw.readBigInt64LE(i * 8)))
      : t.int64_data.map(int64ToNumber);
  else return null;
  const size = dims.reduce((a, b) => a * b, 1);
  return values.length === size ? { dims, values } : null;
}

type Step =
  | { op: 'scale'; scale: Float64Array; offset: Float64Array }
  | { op: 'normalize'; norm: 'MAX' | 'L1' | 'L2' }
  | { op: 'onehot'; cats: Map<number, number>; c: number };

/**
 * One path from the input to a graph output: [Scaler] [Normalizer] [OneHotEncoder then Flatten or Reshape]
 * MatMul by a constant [d, k], [Add a constant [k]]. Anything else (another op, a second input, a branch) is run
 * on the model instead. The graph's own float32 arithmetic is read as float64: equal within float32 rounding.
 */
function matMulChain(graph: GraphWithInitializers, input: string, m: number): GraphModel | null {
  const consts = new Map<string, Initializer>(graph.initializer.map((t) => [t.name, t]));
  const outputs = new Set(graph.output.map((o) => o.name));
  const steps: Step[] = [];
  let cur = input;
  let width = m;
  let weights: { dims: number[]; values: number[] } | null = null;
  let bias: number[] | null = null;
  for (const node of graph.node) {
    if (node.input[0] !== cur && !(node.op_type === 'Add' && node.input[1] === cur)) return null;
    const a = new Attrs(node);
    const ml = node.domain === 'ai.onnx.ml';
    const other = node.input.filter((i) => i !== cur);
    if (node.op_type === 'Identity') {
      // nothing to do
    } else if (weights) {
      // After the MatMul only its Add.
      if (node.op_type !== 'Add' || bias || other.length !== 1) return null;
      const b = consts.get(other[0]!);
      const v = b && initializerValues(b);
      const k = weights.dims[1]!;
      if (!v || v.values.length !== k || v.dims.some((d, i) => d !== 1 && (i !== v.dims.length - 1 || d !== k)))
        return null;
      bias = v.values;
    } else if (ml && node.op_type === 'Scaler' && steps.length === 0) {
      const scale = widen(a.floats('scale'), m, 1);
      const offset = widen(a.floats('offset'), m, 0);
      if (!scale || !offset) return null;
      steps.push({ op: 'scale', scale, offset });
    } else if (ml && node.op_type === 'Normalizer' && !steps.some((s) => s.op !== 'scale')) {
      const norm = a.string('norm', 'MAX');
      if (norm !== 'MAX' && norm !== 'L1' && norm !== 'L2') return null;
      steps.push({ op: 'normalize', norm });
    } else if (ml && node.op_type === 'OneHotEncoder' && !steps.some((s) => s.op === 'onehot')) {
      const cats = a.ints('cats_int64s');
      // zeros=0 makes an unknown category an error at run time; only the default (all zeros) is read here.
      if (!cats.length || a.int('zeros', 1) !== 1 || a.has('cats_strings')) return null;
      steps.push({ op: 'onehot', cats: new Map(cats.map((c, i) => [c, i])), c: cats.length });
      width = m * cats.length;
    } else if (node.op_type === 'Flatten' || node.op_type === 'Reshape') {
      // Only to turn the one-hot [N, m, C] into [N, m * C].
      if (steps[steps.length - 1]?.op !== 'onehot') return null;
      if (node.op_type === 'Flatten' && a.int('axis', 1) !== 1) return null;
      if (node.op_type === 'Reshape') {
        const shape = consts.get(other[0] ?? '');
        const v = shape && initializerValues(shape);
        if (!v || v.values.length !== 2 || (v.values[1] !== width && v.values[1] !== -1)) return null;
      }
    } else if (node.op_type === 'MatMul' && node.domain === '' && other.length === 1 && node.input[0] === cur) {
      const w = consts.get(other[0]!);
      const v = w && initializerValues(w);
      if (!v || v.dims.length !== 2 || v.dims[0] !== width || v.dims[1]! < 1) return null;
      weights = v;
    } else return null;
    cur = node.output[0]!;
  }
  if (!weights || !outputs.has(cur)) return null;
  const k = weights.dims[1]!;
  const W = weights.values;
  const b = Float64Array.from(bias ?? new Array<number>(k).fill(0));
  const scale = steps.find((s) => s.op === 'scale');
  const normalize = steps.find((s) => s.op === 'normalize');
  const onehot = steps.find((s) => s.op === 'onehot');
  const scaled = (j: number, v: number) => (scale ? (v - scale.offset[j]!) * scale.scale[j]! : v);
  if (normalize) {
    // Every output depends on every feature through the norm: no closed form, but no model run either.
    return {
      kind: 'function',
      output: cur,
      m,
      k,
      evaluate: (rows, n) => {
        const out = new Float64Array(n * k);
        const x = new Float64Array(m);
        for (let r = 0; r < n; r++) {
          for (let j = 0; j < m; j++) x[j] = scaled(j, rows[r * m + j]!);
          normalizeRow(x, normalize.norm);
          for (let o = 0; o < k; o++) out[r * k + o] = b[o]!;
          if (onehot) for (let j = 0; j < m; j++) addOneHot(onehot, W, k, j, x[j]!, out, r * k);
          else for (let j = 0; j < m; j++) for (let o = 0; o < k; o++) out[r * k + o]! += x[j]! * W[j * k + o]!;
        }
        return out;
      },
    };
  }
  if (onehot)
    return {
      kind: 'additive',
      output: cur,
      m,
      k,
      bias: b,
      term: (j, v, out) => addOneHot(onehot, W, k, j, scaled(j, v), out, 0),
    };
  // Linear: fold the Scaler in, as for LinearRegressor; weights transposed to k x m.
  const weightsKm = new Float64Array(k * m);
  const intercepts = Float64Array.from(b);
  for (let o = 0; o < k; o++)
    for (let j = 0; j < m; j++) {
      const w = W[j * k + o]!;
      weightsKm[o * m + j] = w * (scale ? scale.scale[j]! : 1);
      if (scale) intercepts[o]! -= w * scale.offset[j]! * scale.scale[j]!;
    }
  return { kind: 'linear', output: cur, m, k, weights: weightsKm, intercepts, link: 'none' };
}

/** ai.onnx.ml Normalizer, in place: x / max|x|, x / sum|x| or x / sqrt(sum x^2) (a zero row stays zero). */
function normalizeRow(x: Float64Array, norm: 'MAX' | 'L1' | 'L2') {
  let d = 0;
  for (const v of x) d = norm === 'MAX' ? Math.max(d, Math.abs(v)) : norm === 'L1' ? d + Math.abs(v) : d + v * v;
  if (norm === 'L2') d = Math.sqrt(d);
  if (d > 0) for (let j = 0; j < x.length; j++) x[j]! /= d;
}

/** Feature j's one-hot row of the weights (the category of v, truncated to an integer as onnxruntime casts it). */
function addOneHot(
  h: { cats: Map<number, number>; c: number },
  W: number[],
  k: number,
  j: number,
  v: number,
  out: Float64Array,
  at: number,
) {
  const i = h.cats.get(Math.trunc(v));
  if (i === undefined) return;
  const row = (j * h.c + i) * k;
  for (let o = 0; o < k; o++) out[at + o]! += W[row + o]!;
}
