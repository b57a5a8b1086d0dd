import { OnnxTypes } from '../onnx/onnx-proto.js';

/**
 * ONNX graphs for the closed-form explanations' tests, written here with the repository's own ONNX schema (no Python
 * or onnx package needed): MatMul+Add, Scaler then MatMul+Add, OneHotEncoder then Flatten and MatMul+Add, and
 * Normalizer then MatMul+Add, each with one float input `x` [N, m] and one float output `y` [N, k]. The specs run
 * them in onnxruntime too, so a graph onnxruntime would read differently fails there.
 */

const FLOAT = 1;
const ATTR = { INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

type Attr = { name: string; f?: number[]; i?: number[]; s?: string; int?: number };
const attr = (a: Attr) =>
  a.f
    ? { name: a.name, type: ATTR.FLOATS, floats: a.f }
    : a.i
      ? { name: a.name, type: ATTR.INTS, ints: a.i }
      : a.s !== undefined
        ? { name: a.name, type: ATTR.STRING, s: Buffer.from(a.s) }
        : { name: a.name, type: ATTR.INT, i: a.int };

const node = (op: string, input: string[], output: string[], attrs: Attr[] = [], domain = '') => ({
  op_type: op,
  input,
  output,
  domain,
  name: `${op}_${output[0]}`,
  attribute: attrs.map(attr),
});

const valueInfo = (name: string, width: number) => ({
  name,
  type: { tensor_type: { elem_type: FLOAT, shape: { dim: [{ dim_param: 'N' }, { dim_value: width }] } } },
});

const floats = (name: string, dims: number[], values: number[]) => ({
  name,
  dims,
  data_type: FLOAT,
  float_data: values,
});

function model(nodes: ReturnType<typeof node>[], inits: ReturnType<typeof floats>[], m: number, k: number) {
  return OnnxTypes.ModelProto.encode(
    OnnxTypes.ModelProto.fromObject({
      ir_version: 8,
      producer_name: 'modelyard-tests',
      opset_import: [
        { domain: '', version: 15 },
        { domain: 'ai.onnx.ml', version: 3 },
      ],
      graph: {
        name: 'closed_form',
        node: nodes,
        initializer: inits,
        input: [valueInfo('x', m)],
        output: [valueInfo('y', k)],
      },
    }),
  ).finish();
}

/** y = x W + B, W = [[1, 2], [3, -1], [0.5, 0]] (3 features, 2 outputs), B = [0.5, -1]. */
export const linearGraph = () =>
  model(
    [node('MatMul', ['x', 'W'], ['xw']), node('Add', ['xw', 'B'], ['y'])],
    [floats('W', [3, 2], [1, 2, 3, -1, 0.5, 0]), floats('B', [2], [0.5, -1])],
    3,
    2,
  );

/** y = ((x - 1) * 2) [1, 1, 1]^T: a Scaler (offset 1, scale 2) then MatMul, no Add. */
export const scalerGraph = () =>
  model(
    [
      node(
        'Scaler',
        ['x'],
        ['xs'],
        [
          { name: 'offset', f: [1] },
          { name: 'scale', f: [2] },
        ],
        'ai.onnx.ml',
      ),
      node('MatMul', ['xs', 'W'], ['y']),
    ],
    [floats('W', [3, 1], [1, 1, 1])],
    3,
    1,
  );

/**
 * Two categorical features (categories 0, 1, 2; anything else all zeros) one-hot encoded, flattened to 6 columns,
 * y = onehot W + 100 with W = feature 0: 1, 2, 3; feature 1: 10, 20, 30.
 */
export const oneHotGraph = () =>
  model(
    [
      node(
        'OneHotEncoder',
        ['x'],
        ['oh'],
        [
          { name: 'cats_int64s', i: [0, 1, 2] },
          { name: 'zeros', int: 1 },
        ],
        'ai.onnx.ml',
      ),
      node('Flatten', ['oh'], ['flat'], [{ name: 'axis', int: 1 }]),
      node('MatMul', ['flat', 'W'], ['xw']),
      node('Add', ['B', 'xw'], ['y']),
    ],
    [floats('W', [6, 1], [1, 2, 3, 10, 20, 30]), floats('B', [1], [100])],
    2,
    1,
  );

/** y = (x / |x|_1) [1, 2, 3]^T: an L1 Normalizer then MatMul+Add (B = 0). */
export const normalizerGraph = () =>
  model(
    [
      node('Normalizer', ['x'], ['xn'], [{ name: 'norm', s: 'L1' }], 'ai.onnx.ml'),
      node('MatMul', ['xn', 'W'], ['xw']),
      node('Add', ['xw', 'B'], ['y']),
    ],
    [floats('W', [3, 1], [1, 2, 3]), floats('B', [1], [0])],
    3,
    1,
  );
