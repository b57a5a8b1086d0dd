// What drift monitors for a version, read from its signature, and how model outputs become prediction-log-shaped
// records. Pure: the profile job and the fold job must agree on these names, so both come from here.
import type { TSignature } from '@modelyard/contracts';
import { numericColumn, type DriftBatch, type DriftColumnSpec, type DriftSchema } from './drift-profile.js';

/** Classes past this many get no probability column of their own (the predicted label still covers them). */
export const MAX_PROBABILITY_COLUMNS = 100;

/**
 * The monitored columns of a version.
 *
 * Features: every input's `columns` (or `<input>_<i>` for an input without names but a fixed width), which is
 * exactly how the prediction log keys a row's features; numeric unless the input's dtype is `string`.
 *
 * Outputs, read from PredictionLog.outputs (one record per row, keyed by output name; a width-1 output is a
 * scalar, a wider one an array):
 * - `prediction`: the predicted label, categorical, from `labelOutput`;
 * - `proba_<class>`: numeric, element i of `probabilityOutput` for the i-th of `classes`;
 * - a model with neither (a regressor): each width-1 output as a numeric column of its own name, categorical when
 *   its dtype is string. Wider outputs (embeddings, say) are not monitored.
 */
export function driftSchemaOf(signature: TSignature): DriftSchema {
  const features: DriftColumnSpec[] = [];
  for (const input of signature.inputs) {
    const kind = input.dtype === 'string' ? 'categorical' : 'numeric';
    const width = input.shape.length > 1 ? input.shape[input.shape.length - 1]! : 1;
    const names =
      input.columns ?? (width > 0 ? Array.from({ length: width }, (_, i) => `${input.name}_${i}`) : [input.name]);
    for (const name of names) features.push({ name, kind });
  }
  const outputs: DriftColumnSpec[] = [];
  if (signature.labelOutput) outputs.push({ name: 'prediction', kind: 'categorical', key: signature.labelOutput });
  if (signature.probabilityOutput && signature.classes?.length) {
    signature.classes.slice(0, MAX_PROBABILITY_COLUMNS).forEach((c, index) => {
      outputs.push({ name: `proba_${c}`, kind: 'numeric', key: signature.probabilityOutput!, index });
    });
  }
  if (!signature.labelOutput && !signature.probabilityOutput) {
    for (const o of signature.outputs) {
      const width = o.shape.length > 1 ? o.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
      if (width === 1) outputs.push({ name: o.name, kind: o.dtype === 'string' ? 'categorical' : 'numeric' });
    }
  }
  return { features, outputs };
}

/**
 * Model outputs as the inspector returns them (per output name, one entry per row, nested per shape) to
 * prediction-log-shaped records: `{ label: 1, probabilities: [0.1, 0.8, 0.1] }` per row. A `[N, 1]` output
 * becomes a scalar, as the prediction log writes it.
 */
export function outputRecords(outputs: Record<string, unknown>, rows: number): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = Array.from({ length: rows }, () => ({}));
  for (const [name, values] of Object.entries(outputs)) {
    if (!Array.isArray(values)) continue;
    for (let r = 0; r < rows; r++) {
      let v: unknown = values[r];
      if (Array.isArray(v)) {
        const flat = (v as unknown[]).flat(Infinity);
        v = flat.length === 1 ? flat[0] : flat;
      }
      records[r]![name] = v;
    }
  }
  return records;
}

/** Features fed to the model as float32 (and float16, which the engine widens from float32 values). */
export function float32Features(signature: TSignature): string[] {
  return driftSchemaOf({
    ...signature,
    inputs: signature.inputs.filter((i) => i.dtype === 'float32' || i.dtype === 'float16'),
  }).features.map((f) => f.name);
}

/**
 * Rounds the named feature columns to float32 in place. The prediction log holds what the model was fed, so a
 * float32 input logs 0.2 as 0.20000000298…; a reference profiled from the float64 text 0.2 would put its bin edge
 * at exactly 0.2 and every served 0.2 one bin higher, which on a tied column (petal widths) reads as drift.
 * Reference and ad hoc data are therefore rounded the same way before they are profiled or compared.
 */
export function roundToFloat32(batch: DriftBatch, names: readonly string[]): DriftBatch {
  for (const name of names) {
    const values = batch.features[name];
    if (!values) continue;
    const col = Float64Array.from(numericColumn(values, batch.rows));
    for (let i = 0; i < col.length; i++) col[i] = Math.fround(col[i]!);
    batch.features[name] = col;
  }
  return batch;
}
