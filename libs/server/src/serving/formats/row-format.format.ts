import {
  type Feeds,
  feedsFromNamedArrays,
  feedsFromRecords,
  feedsFromRowArrays,
  flatValues,
  InputError,
  nest,
  type Outputs,
  type ServedVersion,
  type ServingLimits,
  type Tensor,
} from '../../engine/index.js';
import {
  ZTfsPredictRequest,
  ZTfsPredictResponse,
  type TensorDtype,
  type TSignature,
  type TTensorSpec,
} from '@modelyard/contracts';
import { jsonOnly, MESSAGE_ERRORS, type PredictProtocol } from './protocol.js';

/**
 * TF Serving / KServe v1 / Vertex AI predict bodies (PROTOCOLS.md section 3):
 * `{"instances": [...]}` (row format) -> `{"predictions": [...]}`, or `{"inputs": ...}` (columnar) -> `{"outputs": ...}`.
 * `signature_name` (TFS) and `parameters` (Vertex) are accepted and ignored: an ONNX model has one signature.
 *
 * TF Serving's parser allows the non-JSON tokens NaN / Infinity / -Infinity. We do not: the JSON parser refuses
 * them with a 400 before this adapter runs, and bufferFor refuses non-finite numbers anyway, because no model
 * served here gives a meaningful answer for a non-finite feature. `{"b64": ...}` binary strings are not decoded
 * (onnxruntime-node string tensors are JS strings): send the text itself.
 */
export interface RowFormatRequest {
  feeds: Feeds;
  /** `inputs` was used: answer `{"outputs": ...}` instead of `{"predictions": [...]}`. */
  columnar: boolean;
}

export function parseRowFormat(body: unknown, sv: ServedVersion, limits: ServingLimits): RowFormatRequest {
  if (!isObject(body))
    throw new InputError('The body must be a JSON object with "instances" (a list of rows) or "inputs" (columns)');
  const {
    instances,
    inputs,
    signature_name: sig,
  } = body as { instances?: unknown; inputs?: unknown; signature_name?: unknown };
  if (sig !== undefined && typeof sig !== 'string') throw new InputError('"signature_name" must be a string');
  if (instances !== undefined && inputs !== undefined)
    throw new InputError('Send "instances" (row format) or "inputs" (columnar format), not both');
  if (instances !== undefined) return { feeds: feedsFromInstances(sv.signature, instances, limits), columnar: false };
  if (inputs !== undefined) return { feeds: feedsFromColumns(sv.signature, inputs, limits), columnar: true };
  throw new InputError('The body must have "instances" (a list of rows) or "inputs" (columns)');
}

/**
 * Row format: one element per example. Each is a list of values (or a single value) holding every input in
 * signature order, or an object: keyed by input name (TFS multi-input rows) or, when no key is an input name,
 * by feature name (MLflow/pandas records).
 */
export function feedsFromInstances(sig: TSignature, rows: unknown, limits: ServingLimits): Feeds {
  if (!Array.isArray(rows)) throw new InputError('"instances" must be a list with one element per example');
  checkRowCount(rows.length, limits);
  const first: unknown = rows[0];
  if (!isObject(first)) return feedsFromRowArrays(sig, rows, limits);
  if (!sig.inputs.some((s) => Object.hasOwn(first, s.name))) return feedsFromRecords(sig, rows, limits);
  const feeds: Feeds = {};
  for (let r = 0; r < rows.length; r++) {
    const row: unknown = rows[r];
    if (!isObject(row)) throw new InputError(`Instance ${r}: expected an object of named inputs like instance 0`);
    for (const k in row)
      if (!sig.inputs.some((s) => s.name === k))
        throw new InputError(`Instance ${r}: unknown input "${k}" (the model takes ${inputNames(sig)})`);
  }
  for (const spec of sig.inputs) {
    const column = rows.map((row: Record<string, unknown>, r) => {
      const v = row[spec.name];
      if (v === undefined) throw new InputError(`Instance ${r}: input "${spec.name}" is missing`);
      return v;
    });
    feeds[spec.name] = feedsFromRowArrays({ ...sig, inputs: [spec] }, column, limits)[spec.name]!;
  }
  return feeds;
}

/** Columnar format: one tensor (a list of rows) for a single input, or `{input_name: tensor}`. */
export function feedsFromColumns(sig: TSignature, inputs: unknown, limits: ServingLimits): Feeds {
  if (Array.isArray(inputs)) return feedsFromRowArrays(sig, inputs, limits);
  if (isObject(inputs)) return feedsFromNamedArrays(sig, inputs, limits);
  throw new InputError('"inputs" must be a tensor (a list of rows) or an object of input name -> tensor');
}

/** `{"predictions": [...]}` per row (an object keyed by output name when there are several), or `{"outputs": ...}`. */
export function renderRowFormat(sv: ServedVersion, outputs: Outputs, columnar: boolean) {
  const names = sv.outputNames;
  if (columnar) {
    if (names.length === 1) return { outputs: nested(outputs[names[0]!]!) };
    const out: Record<string, unknown> = {};
    for (const n of names) out[n] = nested(outputs[n]!);
    return { outputs: out };
  }
  return { predictions: rowsOf(names, outputs) };
}

/** One prediction per row: the row's value for a single output, else `{output: value}`. */
export function rowsOf(names: readonly string[], outputs: Outputs): unknown[] {
  if (names.length === 1) return nested(outputs[names[0]!]!);
  const perOutput = names.map((n) => nested(outputs[n]!));
  const n = perOutput[0]!.length;
  names.forEach((name, i) => {
    if (perOutput[i]!.length !== n)
      throw new InputError(`Output "${name}" does not have one row per instance; use the columnar "inputs" format`);
  });
  return Array.from({ length: n }, (_, r) => {
    const row: Record<string, unknown> = {};
    names.forEach((name, i) => {
      row[name] = perOutput[i]![r];
    });
    return row;
  });
}

/** A tensor as nested lists, row first ([N] -> values, [N, k] -> rows of k, ...). */
export function nested(t: Tensor): unknown[] {
  return nest(jsonValues(t), t.dims);
}

/** flatValues, refusing float16, whose raw bits onnxruntime-node hands back and which has no JSON form. */
export function jsonValues(t: Tensor): unknown[] {
  if (t.type === 'float16') throw new InputError('This model returns a float16 tensor, which has no JSON form');
  return flatValues(t);
}

/** TF Serving model metadata: the one signature, `serving_default`, as a signature_def with TF dtypes. */
export function renderTfsMetadata(sv: ServedVersion) {
  const tensors = (specs: readonly TTensorSpec[]) => {
    const out: Record<string, unknown> = {};
    for (const s of specs) {
      out[s.name] = {
        dtype: TF_DTYPE[s.dtype],
        name: s.name,
        tensor_shape: { dim: s.shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: s.shape.length === 0 },
      };
    }
    return out;
  };
  return {
    model_spec: { name: sv.model, signature_name: '', version: String(sv.version) },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: tensors(sv.signature.inputs),
            outputs: tensors(sv.signature.outputs.filter((o) => sv.outputNames.includes(o.name))),
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
    },
  };
}

export type TfsVersionState = 'AVAILABLE' | 'LOADING' | 'UNAVAILABLE';

/** One `model_version_status` entry (TF Serving's GetModelStatus over REST). */
export function tfsVersionStatus(version: number, state: TfsVersionState, error?: string) {
  return {
    version: String(version),
    state,
    status: { error_code: error ? 'UNKNOWN' : 'OK', error_message: error ?? '' },
  };
}

const TF_DTYPE: Record<TensorDtype, string> = {
  float32: 'DT_FLOAT',
  float64: 'DT_DOUBLE',
  float16: 'DT_HALF',
  int8: 'DT_INT8',
  int16: 'DT_INT16',
  int32: 'DT_INT32',
  int64: 'DT_INT64',
  uint8: 'DT_UINT8',
  uint16: 'DT_UINT16',
  uint32: 'DT_UINT32',
  uint64: 'DT_UINT64',
  bool: 'DT_BOOL',
  string: 'DT_STRING',
};

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function checkRowCount(n: number, limits: ServingLimits) {
  if (n === 0) throw new InputError('No rows to predict');
  if (n > limits.maxRows) throw new InputError(`Too many rows: ${n} (the limit is ${limits.maxRows} per request)`);
}

export const inputNames = (sig: TSignature) => sig.inputs.map((s) => s.name).join(', ');

/**
 * TF Serving / KServe v1 / Vertex AI predict: `POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict`. A
 * label is an alias. Errors `{"error": "..."}`.
 */
export const TFS_PROTOCOL: PredictProtocol<'tfs'> = {
  name: 'tfs',
  formerNames: ['v1'],
  tag: { name: 'tfs', description: 'TF Serving / KServe v1 / Vertex AI predict, label status and metadata' },
  routes: [
    {
      path: '/v1/models/{name}:predict',
      target: 'model',
      operationId: 'tfsPredict',
      summary: 'TF Serving / KServe v1 predict',
    },
    {
      path: '/v1/models/{name}/versions/{version}:predict',
      target: 'version',
      operationId: 'tfsPredictVersion',
      summary: 'TF Serving predict on one version',
    },
    {
      path: '/v1/models/{name}/labels/{label}:predict',
      target: 'alias',
      operationId: 'tfsPredictLabel',
      summary: 'TF Serving predict on a label (an alias)',
    },
  ],
  request: ZTfsPredictRequest,
  response: ZTfsPredictResponse,
  mediaTypes: ['application/json'],
  bodyKind: jsonOnly,
  errors: MESSAGE_ERRORS,
  prepare: (sv, req, limits) => {
    const { feeds, columnar } = parseRowFormat(req.body, sv, limits);
    return { feeds, render: (out) => renderRowFormat(sv, out, columnar) };
  },
};
