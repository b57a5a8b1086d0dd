import {
  bufferFor,
  expected,
  type Feeds,
  InputError,
  makeTensor,
  type Outputs,
  preview,
  type ServedVersion,
  type ServingLimits,
  type Tensor,
} from '../../engine/index.js';
import { OIP_DATATYPE_OF_DTYPE, ZOipInferRequest, ZOipInferResponse, type TTensorSpec } from '@modelyard/contracts';
import { jsonOnly, MESSAGE_ERRORS, type PredictProtocol } from './protocol.js';
import { inputNames, isObject, jsonValues } from './row-format.format.js';

/**
 * Open Inference Protocol v2 (KServe v2) REST, JSON only (the binary tensor extension is not offered).
 *
 * Request: `{id?, parameters?, inputs: [{name, shape, datatype, parameters?, data}], outputs?: [{name}]}`. Every
 * input of the model must be given once, with the model's datatype, a shape that fits the model's (fixed dims
 * equal, batch dim at most MAX_ROWS_PER_REQUEST) and exactly shape-product values, flat or nested to the shape.
 * `parameters` are accepted and ignored. FP16 has no JSON form: refused.
 *
 * Precision policy for INT64/UINT64: JSON numbers are exact only up to 2^53. Inputs take JSON integers within
 * ±(2^53 - 1) or decimal strings for the full 64-bit range; a JSON number beyond 2^53 is refused (JSON.parse has
 * already rounded it). Outputs are numbers within ±(2^53 - 1) and decimal strings beyond, never rounded.
 */
export interface OipRequest {
  id: string | undefined;
  feeds: Feeds;
  /** The `outputs` filter; undefined = every output. */
  outputs: string[] | undefined;
}

export const OIP_PLATFORM = 'onnx_onnxv1';
/** Bounds the recursion over nested data when a model does not declare its input rank. */
const MAX_RANK = 16;

export function parseOip(body: unknown, sv: ServedVersion, limits: ServingLimits): OipRequest {
  if (!isObject(body)) throw new InputError('The body must be a JSON object with an "inputs" list');
  const { id, inputs, outputs } = body as { id?: unknown; inputs?: unknown; outputs?: unknown };
  if (id !== undefined && typeof id !== 'string') throw new InputError('"id" must be a string');
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw new InputError('"inputs" must be a non-empty list of tensors');
  const sig = sv.signature;
  const feeds: Feeds = {};
  for (let i = 0; i < inputs.length; i++) {
    const input: unknown = inputs[i];
    if (!isObject(input)) throw new InputError(`inputs[${i}] must be an object with name, shape, datatype and data`);
    const name = input.name;
    if (typeof name !== 'string') throw new InputError(`inputs[${i}].name must be a string`);
    const spec = sig.inputs.find((s) => s.name === name);
    if (!spec) throw new InputError(`Unknown input "${name}" (the model takes ${inputNames(sig)})`);
    if (feeds[name]) throw new InputError(`Input "${name}" is given twice`);
    feeds[name] = tensorOf(spec, input, limits);
  }
  for (const spec of sig.inputs) {
    if (!feeds[spec.name]) throw new InputError(`Input "${spec.name}" is missing (the model takes ${inputNames(sig)})`);
  }
  return { id, feeds, outputs: outputFilter(outputs, sv) };
}

function tensorOf(spec: TTensorSpec, input: Record<string, unknown>, limits: ServingLimits): Tensor {
  const { datatype, shape, data } = input;
  const want = OIP_DATATYPE_OF_DTYPE[spec.dtype];
  if (datatype === 'FP16' || want === 'FP16')
    throw new InputError(`Input "${spec.name}": FP16 has no JSON form (the binary tensor extension is not supported)`);
  if (datatype !== want) throw new InputError(`Input "${spec.name}" has datatype ${want}, got ${preview(datatype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new InputError(`Input "${spec.name}": shape must be a list of non-negative integers`);
  }
  const dims = shape as number[];
  if (dims.length > MAX_RANK)
    throw new InputError(`Input "${spec.name}": shape has ${dims.length} dims (at most ${MAX_RANK})`);
  const declared = spec.shape;
  if (declared.length && (dims.length !== declared.length || declared.some((d, k) => d >= 0 && d !== dims[k]))) {
    throw new InputError(
      `Input "${spec.name}": shape [${dims.join(', ')}] does not fit the model's [${declared.join(', ')}]`,
    );
  }
  if (dims.length && dims[0]! > limits.maxRows)
    throw new InputError(`Input "${spec.name}": ${dims[0]} rows (the limit is ${limits.maxRows} per request)`);
  if (dims.length && dims[0] === 0) throw new InputError(`Input "${spec.name}": no rows to predict`);
  if (!Array.isArray(data)) throw new InputError(`Input "${spec.name}": data must be a list`);
  const size = dims.reduce((a, b) => a * b, 1);
  // Flat data is counted directly; nested data must follow the shape at every level. Either way the sizes
  // agree before anything is allocated, so a huge declared shape costs nothing.
  const flat = !Array.isArray(data[0]);
  if (flat ? data.length !== size : !fitsShape(data, dims, 0)) {
    throw new InputError(
      `Input "${spec.name}": shape [${dims.join(', ')}] needs ${size} values in data${flat ? `, got ${data.length}` : ' (nested to that shape, or flat)'}`,
    );
  }
  const buf = bufferFor(spec, size);
  let at = 0;
  const write = (values: unknown[], depth: number) => {
    for (const v of values) {
      if (!flat && depth < dims.length - 1) write(v as unknown[], depth + 1);
      else if (!buf.set(at++, v))
        throw new InputError(`Input "${spec.name}": element ${at - 1} must be ${expected(spec)}, got ${preview(v)}`);
    }
  };
  write(data, 0);
  return makeTensor(spec, buf.data, dims);
}

/** Nested data: a list of dims[depth] elements at every level, scalars below the last dim. */
function fitsShape(v: unknown[], dims: readonly number[], depth: number): boolean {
  if (v.length !== dims[depth]) return false;
  if (depth === dims.length - 1) return true;
  for (const x of v) if (!Array.isArray(x) || !fitsShape(x, dims, depth + 1)) return false;
  return true;
}

function outputFilter(outputs: unknown, sv: ServedVersion): string[] | undefined {
  if (outputs === undefined) return undefined;
  if (!Array.isArray(outputs)) throw new InputError('"outputs" must be a list of {"name": ...} objects');
  if (outputs.length === 0) return undefined;
  const names: string[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const o: unknown = outputs[i];
    if (!isObject(o) || typeof o.name !== 'string')
      throw new InputError(`outputs[${i}] must be an object with a string "name"`);
    if (names.includes(o.name)) throw new InputError(`Output "${o.name}" is requested twice`);
    // Unknown names are refused by the engine (PredictionService.run), with the list of known ones.
    if (sv.signature.outputs.find((s) => s.name === o.name)?.dtype === 'float16')
      throw new InputError(`Output "${o.name}" is FP16, which has no JSON form`);
    names.push(o.name);
  }
  return names;
}

export function renderOip(sv: ServedVersion, outputs: Outputs, names: readonly string[], id: string) {
  return {
    model_name: sv.model,
    model_version: String(sv.version),
    id,
    outputs: names.map((name) => {
      const t = outputs[name]!;
      return {
        name,
        datatype: OIP_DATATYPE_OF_DTYPE[t.type as keyof typeof OIP_DATATYPE_OF_DTYPE],
        shape: t.dims,
        data: jsonValues(t),
      };
    }),
  };
}

/** Model metadata: the servable inputs and outputs with OIP datatypes, -1 for open dims. */
export function renderOipMetadata(sv: ServedVersion, versions: readonly number[]) {
  const meta = (s: TTensorSpec) => ({ name: s.name, datatype: OIP_DATATYPE_OF_DTYPE[s.dtype], shape: s.shape });
  return {
    name: sv.model,
    versions: versions.map(String),
    platform: OIP_PLATFORM,
    inputs: sv.signature.inputs.map(meta),
    outputs: sv.signature.outputs.filter((o) => sv.outputNames.includes(o.name)).map(meta),
  };
}

/** OIP v2 inference: `POST /v2/models/{name}[/versions/{v}]/infer`; errors `{"error": "..."}`. */
export const OIP_V2_PROTOCOL: PredictProtocol<'oip-v2'> = {
  name: 'oip-v2',
  formerNames: ['v2'],
  tag: { name: 'oip-v2', description: 'Open Inference Protocol v2 (KServe v2): health, metadata, inference' },
  routes: [
    {
      path: '/v2/models/{name}/infer',
      target: 'model',
      operationId: 'oipInfer',
      summary: 'OIP v2 inference (JSON tensors)',
    },
    {
      path: '/v2/models/{name}/versions/{version}/infer',
      target: 'version',
      operationId: 'oipInferVersion',
      summary: 'OIP v2 inference on one version',
    },
  ],
  request: ZOipInferRequest,
  response: ZOipInferResponse,
  mediaTypes: ['application/json'],
  bodyKind: jsonOnly,
  errors: MESSAGE_ERRORS,
  prepare: (sv, req, limits) => {
    const p = parseOip(req.body, sv, limits);
    return {
      feeds: p.feeds,
      outputs: p.outputs,
      render: (out) => renderOip(sv, out, p.outputs ?? sv.outputNames, p.id ?? req.requestId),
    };
  },
};
