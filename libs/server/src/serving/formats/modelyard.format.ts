import type * as ort from 'onnxruntime-node';
import type { ServedVersion } from '../served-version.js';
import { feedsFromRecords, feedsFromRowArrays, flatValues, InputError, nest, type ServingLimits } from '../tensors.js';

/**
 * Modelyard contract (the classic Flask endpoint, kept compatible):
 * `{"payload": [{feature: value}, …]}` -> `{"predictions", "predictions_prob", "classes", "model", "version"}`.
 * Old clients also send `pipelineFilename` / `implementation`: accepted and ignored.
 */
export function parseModelyard(body: unknown, sv: ServedVersion, limits: ServingLimits): Record<string, ort.Tensor> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InputError('The body must be a JSON object with a "payload" list of rows');
  const payload = (body as { payload?: unknown }).payload;
  if (!Array.isArray(payload)) throw new InputError('"payload" must be a list of rows ({feature: value} objects)');
  const records = payload.length > 0 && payload.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r));
  return records ? feedsFromRecords(sv.signature, payload, limits) : feedsFromRowArrays(sv.signature, payload, limits);
}

/** Labels, probabilities and classes for classifiers; plain values for regressors and other models. */
export function classifierView(sv: ServedVersion, outputs: Record<string, ort.Tensor>) {
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
  const predictions = labelT
    ? flatValues(labelT)
    : probs!.map((row) => classes![row.indexOf(Math.max(...row))]);
  return { predictions, predictions_prob: probs, classes };
}

export function renderModelyard(sv: ServedVersion, outputs: Record<string, ort.Tensor>) {
  return { ...classifierView(sv, outputs), model: sv.model, version: sv.version };
}
