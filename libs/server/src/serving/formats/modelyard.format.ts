import {
  type Feeds,
  feedsFromRecords,
  feedsFromRowArrays,
  flatValues,
  InputError,
  nest,
  type Outputs,
  type ServedVersion,
  type ServingLimits,
} from '../../engine/index.js';
import { ZPredictRequest, ZPredictResponse } from '@modelyard/contracts';
import { jsonOnly, type PredictProtocol } from './protocol.js';
import { modelNameOf } from '../../tenancy/model-key.js';

/**
 * Modelyard contract (the classic Flask endpoint, kept compatible):
 * `{"payload": [{feature: value}, …]}` -> `{"predictions", "predictions_prob", "classes", "model", "version"}`.
 * Old clients also send `pipelineFilename` / `implementation`: accepted and ignored.
 */
export function parseModelyard(body: unknown, sv: ServedVersion, limits: ServingLimits): Feeds {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new InputError('The body must be a JSON object with a "payload" list of rows');
  const payload = (body as { payload?: unknown }).payload;
  if (!Array.isArray(payload)) throw new InputError('"payload" must be a list of rows ({feature: value} objects)');
  const records = payload.length > 0 && payload.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r));
  return records ? feedsFromRecords(sv.signature, payload, limits) : feedsFromRowArrays(sv.signature, payload, limits);
}

/** Labels, probabilities and classes for classifiers; plain values for regressors and other models. */
export function classifierView(sv: ServedVersion, outputs: Outputs) {
  const probT = sv.probabilityOutput ? outputs[sv.probabilityOutput] : undefined;
  const labelT = sv.labelOutput ? outputs[sv.labelOutput] : undefined;
  if (!probT && !labelT) {
    const first = outputs[sv.outputNames[0]!]!;
    const vals = flatValues(first);
    // [N] or [N, 1]: one value per row; anything wider stays nested per row.
    const perRow = first.dims.length <= 1 || (first.dims.length === 2 && first.dims[1] === 1);
    return { predictions: perRow ? vals : nest(vals, first.dims) };
  }
  const probs = probT ? (nest(flatValues(probT), probT.dims) as number[][]) : undefined;
  const width = probT?.dims[1] ?? 0;
  const classes = sv.signature.classes ?? (width ? Array.from({ length: width }, (_, i) => i) : undefined);
  const predictions = labelT ? flatValues(labelT) : probs!.map((row) => classes![row.indexOf(Math.max(...row))]);
  return { predictions, predictions_prob: probs, classes };
}

export function renderModelyard(sv: ServedVersion, outputs: Outputs) {
  return { ...classifierView(sv, outputs), model: modelNameOf(sv.model), version: sv.version };
}

/** The constant end of a version's answers (`"classes":…,"model":…,"version":…}`), built once per version. */
const tails = new WeakMap<ServedVersion, string>();

/**
 * `JSON.stringify(renderModelyard(…))` written directly for the common classifier answer (labels and a
 * [N, C] float probability tensor): the hot path's biggest allocation was the intermediate arrays. Anything
 * else takes the generic path, so the bytes are always the same.
 */
export function renderModelyardJson(sv: ServedVersion, outputs: Outputs): string {
  const probT = sv.probabilityOutput ? outputs[sv.probabilityOutput] : undefined;
  const labelT = sv.labelOutput ? outputs[sv.labelOutput] : undefined;
  const fast =
    probT &&
    labelT &&
    probT.dims.length === 2 &&
    (probT.type === 'float32' || probT.type === 'float64') &&
    (labelT.type === 'int64' || labelT.type === 'int32' || labelT.type === 'string') &&
    probT.dims[1]! > 0;
  if (!fast) return JSON.stringify(renderModelyard(sv, outputs));
  let tail = tails.get(sv);
  if (tail === undefined) {
    const classes = sv.signature.classes ?? Array.from({ length: probT.dims[1]! }, (_, i) => i);
    tail = `,"classes":${JSON.stringify(classes)},"model":${JSON.stringify(modelNameOf(sv.model))},"version":${JSON.stringify(sv.version)}}`;
    tails.set(sv, tail);
  }
  const labels = labelT.data as ArrayLike<bigint | number | string>;
  let out = '{"predictions":[';
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (i) out += ',';
    if (typeof v === 'string') out += JSON.stringify(v);
    else if (typeof v === 'bigint')
      out += v >= -9007199254740991n && v <= 9007199254740991n ? String(Number(v)) : `"${v}"`;
    else out += String(v);
  }
  out += '],"predictions_prob":[';
  const p = probT.data as Float32Array | Float64Array;
  const width = probT.dims[1]!;
  for (let r = 0; r < probT.dims[0]!; r++) {
    out += r ? ',[' : '[';
    for (let c = 0; c < width; c++) {
      const v = p[r * width + c]!;
      if (c) out += ',';
      out += Number.isFinite(v) ? String(v) : 'null';
    }
    out += ']';
  }
  return out + ']' + tail;
}

/** Modelyard's own format: `POST /v1/models/{name}[/versions/{v}|/aliases/{a}]/predict`, errors in our shape. */
export const MODELYARD_PROTOCOL: PredictProtocol<'modelyard'> = {
  name: 'modelyard',
  tag: { name: 'predict', description: 'Predictions in the Modelyard format, asynchronous and stored predictions' },
  routes: [
    {
      path: '/v1/models/{name}/predict',
      target: 'model',
      operationId: 'predict',
      summary: 'Predict with the model (Production, pilots)',
    },
    {
      path: '/v1/models/{name}/versions/{version}/predict',
      target: 'version',
      operationId: 'predictVersion',
      summary: 'Predict with one version',
    },
    {
      path: '/v1/models/{name}/aliases/{alias}/predict',
      target: 'alias',
      operationId: 'predictAlias',
      summary: 'Predict with the version an alias points to',
    },
  ],
  request: ZPredictRequest,
  response: ZPredictResponse,
  mediaTypes: ['application/json'],
  bodyKind: jsonOnly,
  errors: null,
  explains: true,
  prepare: (sv, req, limits) => ({
    feeds: parseModelyard(req.body, sv, limits),
    render: (out) => renderModelyard(sv, out),
    renderJson: (out) => renderModelyardJson(sv, out),
  }),
};
