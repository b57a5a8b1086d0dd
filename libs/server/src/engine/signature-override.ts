import { ZSignature, type TSignature } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';

/**
 * Applies what the caller said at registration over what the ONNX file says: feature names (for a
 * single-input model, `feature_names`; otherwise `inputs[].columns` by input name), classes, class names, task.
 */
export function mergeSignature(sig: TSignature, override?: Record<string, unknown>): TSignature {
  if (!override) return sig;
  const out: Record<string, unknown> = { ...sig };
  for (const k of ['classes', 'classNames', 'task', 'labelOutput', 'probabilityOutput'] as const) {
    if (override[k] !== undefined) out[k] = override[k];
  }
  let inputs = sig.inputs.map((i) => ({ ...i }));
  const names = override.feature_names ?? override.featureNames;
  if (names !== undefined) {
    if (inputs.length !== 1)
      throw new AppError(
        'VALIDATION_FAILED',
        'feature_names fits a single-input model; give inputs[].columns per input instead',
      );
    inputs = [{ ...inputs[0]!, columns: names as string[] }];
  }
  if (Array.isArray(override.inputs)) {
    for (const o of override.inputs as { name?: string; columns?: string[] }[]) {
      const target = inputs.find((i) => i.name === o.name);
      if (!target)
        throw new AppError(
          'VALIDATION_FAILED',
          `signature override names input "${o.name}", which the model does not have (it has ${inputs.map((i) => i.name).join(', ')})`,
        );
      if (o.columns) target.columns = o.columns;
    }
  }
  out.inputs = inputs;
  const parsed = ZSignature.safeParse(out);
  if (!parsed.success)
    throw new AppError(
      'VALIDATION_FAILED',
      `signature override is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  for (const i of parsed.data.inputs) {
    const width = i.shape[i.shape.length - 1];
    if (i.columns && width !== undefined && width > 0 && i.columns.length !== width) {
      throw new AppError(
        'VALIDATION_FAILED',
        `input ${i.name} has ${width} columns but ${i.columns.length} feature names were given`,
      );
    }
  }
  return parsed.data;
}
