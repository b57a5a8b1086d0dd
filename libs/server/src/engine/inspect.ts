import { TENSOR_DTYPES, type TensorDtype, type TSignature, type TTensorSpec } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';
import { elementTypeName, readOnnxModel, type OnnxModelInfo } from '../onnx/onnx-model.js';
import { stripZipMap, ZIPMAP_METADATA_KEY } from '../onnx/onnx-zipmap.js';
import type { OrtSession } from './ort.js';
import { createSession } from './session.js';

export interface InspectedOnnxModel {
  signature: TSignature;
  /** Things a user should know (metadata ignored, outputs left out, classes guessed from the graph, ...). */
  warnings: string[];
  /** Everything read from the file (opsets, producer, metadata_props, ZipMaps). */
  model: OnnxModelInfo;
}

export interface PreparedOnnxModel extends InspectedOnnxModel {
  /** Present when the model had to be rewritten to be served (ZipMap stripped): store and serve these bytes. */
  servingBytes?: Buffer;
}

const fail = (reason: string) => new AppError('VALIDATION_FAILED', reason);
/** Values one row of an input may declare (16 Mi: a 4-channel 2048x2048 image fits). */
export const MAX_VALUES_PER_ROW = 16 * 1024 * 1024;
const FLOAT_TYPES: readonly TensorDtype[] = ['float32', 'float64', 'float16'];
const LABEL_TYPES: readonly TensorDtype[] = ['int64', 'int32', 'string'];

/**
 * Reads the signature of an ONNX model and checks that onnxruntime-node loads it.
 * VALIDATION_FAILED, with a reason a user understands, for anything that is not a loadable ONNX model.
 * A ZipMap output is left out of the signature (with a warning): use prepareModel to serve its probabilities.
 */
export async function inspectModel(bytes: Uint8Array): Promise<InspectedOnnxModel> {
  const model = readOnnxModel(bytes);
  const { signature, warnings } = signatureFromModel(model);
  // Fatal-only native logging: why a model does not load goes into the AppError, not as a raw line on stderr.
  const session = await createSession(bytes, { logSeverityLevel: 4 });
  try {
    crossCheck(signature, session, warnings);
  } finally {
    await session.release();
  }
  return { signature, warnings, model };
}

/**
 * What registration needs: the model made servable (ZipMap stripped when present) and its signature.
 * `servingBytes` is set only when the file had to change; otherwise the uploaded bytes are served as they are.
 */
export async function prepareModel(bytes: Uint8Array): Promise<PreparedOnnxModel> {
  const stripped = stripZipMap(bytes);
  const inspected = await inspectModel(stripped.bytes);
  const warnings = [...stripped.warnings, ...inspected.warnings];
  if (stripped.changed) {
    warnings.unshift(
      `ZipMap output${stripped.zipMaps.length > 1 ? 's' : ''} ${stripped.zipMaps.map((z) => `"${z.output}"`).join(', ')} now return${stripped.zipMaps.length > 1 ? '' : 's'} a float tensor [N, classes] (onnxruntime-node cannot return ZipMap's seq(map)).`,
    );
  }
  return { ...inspected, warnings, servingBytes: stripped.changed ? stripped.bytes : undefined };
}

/** The signature as the file declares it (no onnxruntime involved). VALIDATION_FAILED for inputs we cannot feed. */
export function signatureFromModel(model: OnnxModelInfo): { signature: TSignature; warnings: string[] } {
  const warnings = [...model.warnings];

  const inputs: TTensorSpec[] = model.inputs.map((i) => {
    if (i.kind !== 'tensor')
      throw fail(`Input "${i.name}" is a ${i.type}; only tensor inputs can be fed to the model.`);
    if (!i.dtype)
      throw fail(
        `Input "${i.name}" has element type ${elementTypeName(i.elemType ?? 0)}, which onnxruntime-node cannot feed.`,
      );
    if (!i.shape) warnings.push(`Input "${i.name}" does not declare its shape.`);
    return { name: i.name, dtype: i.dtype, shape: i.shape ?? [] };
  });
  if (!inputs.length) throw fail('The ONNX graph has no inputs, so there is nothing to feed it.');
  for (const spec of inputs) {
    // Every loading process warms a version with a row of zeros: absurd dims would make that row the attack.
    const w = width(spec);
    if (w !== undefined && w > MAX_VALUES_PER_ROW) {
      throw fail(
        `Input "${spec.name}" declares ${w} values per row (shape ${JSON.stringify(spec.shape)}); at most ${MAX_VALUES_PER_ROW} can be served.`,
      );
    }
  }
  assignColumns(inputs, model.featureNames, warnings);

  const outputs: TTensorSpec[] = [];
  for (const o of model.outputs) {
    if (o.kind !== 'tensor') {
      const isZipMap = model.zipMaps.some((z) => z.output === o.name);
      warnings.push(
        isZipMap
          ? `Output "${o.name}" is a ZipMap (${o.type}), which onnxruntime-node cannot return; it is left out. Serve the model prepared with stripZipMap to get the probabilities.`
          : `Output "${o.name}" is a ${o.type}, not a tensor, which onnxruntime-node cannot return; it is left out.`,
      );
    } else if (!o.dtype) {
      warnings.push(
        `Output "${o.name}" has element type ${elementTypeName(o.elemType ?? 0)}, which onnxruntime-node cannot return; it is left out.`,
      );
    } else {
      if (!o.shape) warnings.push(`Output "${o.name}" does not declare its shape.`);
      outputs.push({ name: o.name, dtype: o.dtype, shape: o.shape ?? [] });
    }
  }
  if (!outputs.length)
    throw fail(
      `None of the model's outputs (${model.outputs.map((o) => `${o.name}: ${o.type}`).join(', ')}) is a tensor onnxruntime-node can return.`,
    );

  // Labels in the graph (ZipMap, ML classifier) decide what the model outputs and in which column order, so they
  // win over the metadata, which is only a declaration.
  let classes = model.classes;
  const graphLabels = model.zipMaps.find((z) => z.classes.length)?.classes ?? model.classifierLabels?.classes;
  if (graphLabels?.length) {
    if (classes && !sameLabels(classes, graphLabels)) {
      warnings.push(
        `metadata classes ${JSON.stringify(classes)} differ from the labels in the graph ${JSON.stringify(graphLabels)}; using the graph's (display names belong in class_names).`,
      );
    }
    classes = graphLabels;
  }
  let classNames = model.classNames;
  if (classNames && classes && classNames.length !== classes.length) {
    warnings.push(`metadata class_names has ${classNames.length} names for ${classes.length} classes; ignored.`);
    classNames = undefined;
  }

  const { labelOutput, probabilityOutput } = classifierOutputs(model, outputs, classes);
  const task =
    labelOutput || probabilityOutput
      ? 'classification'
      : outputs.every((o) => FLOAT_TYPES.includes(o.dtype))
        ? 'regression'
        : 'other';
  if (task === 'classification' && !classes)
    warnings.push(
      'The model looks like a classifier but names no classes (metadata "classes" or graph labels); give them at registration.',
    );

  const signature: TSignature = { inputs, outputs, task };
  if (classes) signature.classes = classes;
  if (classNames) signature.classNames = classNames;
  if (labelOutput) signature.labelOutput = labelOutput;
  if (probabilityOutput) signature.probabilityOutput = probabilityOutput;
  return { signature, warnings };
}

const sameLabels = (a: readonly (string | number)[], b: readonly (string | number)[]) =>
  a.length === b.length && a.every((v, i) => String(v) === String(b[i]));

/** Values per row of an input (product of its non-batch dims); undefined when one is dynamic or the rank unknown. */
function width(spec: TTensorSpec): number | undefined {
  if (!spec.shape.length) return undefined;
  const dims = spec.shape.slice(1);
  return dims.some((d) => d < 0) ? undefined : dims.reduce((a, b) => a * b, 1);
}

/**
 * Feature names per input, from `feature_names`: a list for the single input, a flat list split by the inputs'
 * widths (in input order) for several inputs, or a JSON object input name -> list. Without feature names, the
 * [N, 1] inputs of a multi-input model are named after themselves (sklearn-onnx makes one input per column).
 */
function assignColumns(inputs: TTensorSpec[], featureNames: OnnxModelInfo['featureNames'], warnings: string[]): void {
  const fits = (spec: TTensorSpec, names: string[]) => {
    const w = width(spec);
    if (w === undefined || w === names.length) return true;
    warnings.push(
      `metadata feature_names lists ${names.length} names but input "${spec.name}" takes ${w} values per row; ignored for that input.`,
    );
    return false;
  };
  if (!featureNames) {
    if (inputs.length > 1) for (const spec of inputs) if (width(spec) === 1) spec.columns = [spec.name];
  } else if (!Array.isArray(featureNames)) {
    for (const key of Object.keys(featureNames)) {
      if (!inputs.some((i) => i.name === key))
        warnings.push(`metadata feature_names names an input "${key}" the model does not have.`);
    }
    for (const spec of inputs) {
      const names = featureNames[spec.name];
      if (names && fits(spec, names)) spec.columns = names;
    }
  } else if (inputs.length === 1) {
    if (fits(inputs[0]!, featureNames)) inputs[0]!.columns = featureNames;
  } else {
    const widths = inputs.map(width);
    const total = widths.reduce<number>((a, w) => a + (w ?? Number.NaN), 0);
    if (total !== featureNames.length) {
      warnings.push(
        `metadata feature_names lists ${featureNames.length} names, which cannot be split over inputs ${inputs.map((i) => `"${i.name}" ${JSON.stringify(i.shape)}`).join(', ')}; ignored. Use a JSON object of input name -> names.`,
      );
      return;
    }
    let offset = 0;
    inputs.forEach((spec, i) => {
      spec.columns = featureNames.slice(offset, offset + widths[i]!);
      offset += widths[i]!;
    });
  }
  const all = inputs.flatMap((i) => i.columns ?? []);
  const dupes = [...new Set(all.filter((c, i) => all.indexOf(c) !== i))];
  if (dupes.length)
    warnings.push(`Feature names ${JSON.stringify(dupes)} appear more than once, so records cannot tell them apart.`);
}

/**
 * Classifier outputs: the label is an int64/int32/string tensor [N] (or [N, 1]); the probabilities a float [N, C]
 * tensor, C = number of classes. Among several candidates, those produced by the ZipMap / ML classifier node win,
 * then names that say so.
 */
function classifierOutputs(model: OnnxModelInfo, outputs: TTensorSpec[], classes: OnnxModelInfo['classes']) {
  const nClasses = classes?.length;
  const labels = outputs.filter(
    (o) => LABEL_TYPES.includes(o.dtype) && (o.shape.length === 1 || (o.shape.length === 2 && o.shape[1] === 1)),
  );
  const probs = outputs.filter(
    (o) =>
      FLOAT_TYPES.includes(o.dtype) &&
      o.shape.length === 2 &&
      (nClasses ? o.shape[1] === nClasses || o.shape[1] === -1 : o.shape[1] !== 1),
  );
  let stripped: string[] = [];
  try {
    stripped = (JSON.parse(model.metadata[ZIPMAP_METADATA_KEY] ?? '[]') as { output: string }[]).map((z) => z.output);
  } catch {
    // Not ours after all; fall back to the other hints.
  }
  const node = model.classifierLabels?.outputs ?? [];
  const pick = (candidates: TTensorSpec[], preferred: string[], name: RegExp): TTensorSpec | undefined =>
    candidates.find((o) => preferred.includes(o.name)) ?? candidates.find((o) => name.test(o.name)) ?? candidates[0];
  const label = pick(labels, node.slice(0, 1), /label|class|predict/i);
  let prob = pick(probs, [...stripped, ...node.slice(1, 2)], /prob|softmax/i);
  // A float [N, k] output with no classes, no label and no telling name is more likely a multi-target regressor.
  if (prob && !nClasses && !label && !/prob|softmax/i.test(prob.name)) prob = undefined;
  return { labelOutput: label?.name, probabilityOutput: prob?.name };
}

const dimOf = (d: number | string) => (typeof d === 'number' && d >= 0 ? d : -1);

/** Compares the signature read from the file with what onnxruntime loaded; onnxruntime's element types win. */
function crossCheck(signature: TSignature, session: OrtSession, warnings: string[]): void {
  const check = (kind: 'input' | 'output', specs: TTensorSpec[], meta: OrtSession['inputMetadata']) => {
    const byName = new Map(meta.map((m) => [m.name, m]));
    for (const spec of specs) {
      const m = byName.get(spec.name);
      if (!m) {
        warnings.push(`onnxruntime does not list ${kind} "${spec.name}" that the file declares.`);
        continue;
      }
      if (!m.isTensor) continue;
      if (m.type !== spec.dtype && (TENSOR_DTYPES as readonly string[]).includes(m.type)) {
        warnings.push(
          `${kind} "${spec.name}" is ${spec.dtype} in the file but ${m.type} in onnxruntime; using ${m.type}.`,
        );
        spec.dtype = m.type as TensorDtype;
      }
      const shape = m.shape.map(dimOf);
      if (m.shape.length && JSON.stringify(shape) !== JSON.stringify(spec.shape)) {
        warnings.push(
          `${kind} "${spec.name}" has shape ${JSON.stringify(spec.shape)} in the file but ${JSON.stringify(shape)} in onnxruntime.`,
        );
      }
    }
    const declared = new Set(specs.map((s) => s.name));
    const extra = meta.filter((m) => !declared.has(m.name) && (kind === 'input' || m.isTensor)).map((m) => m.name);
    if (extra.length)
      warnings.push(`onnxruntime lists ${kind}s ${JSON.stringify(extra)} that the signature does not have.`);
  };
  check('input', signature.inputs, session.inputMetadata);
  check('output', signature.outputs, session.outputMetadata);
  // An output the file calls a tensor but onnxruntime cannot return would fail every request: leave it out.
  const nonTensor = new Set(session.outputMetadata.filter((m) => !m.isTensor).map((m) => m.name));
  const kept = signature.outputs.filter((o) => !nonTensor.has(o.name));
  if (kept.length !== signature.outputs.length) {
    warnings.push(
      `onnxruntime cannot return outputs ${JSON.stringify(signature.outputs.filter((o) => nonTensor.has(o.name)).map((o) => o.name))}; left out.`,
    );
    if (!kept.length) throw fail('None of the model outputs is a tensor onnxruntime-node can return.');
    signature.outputs = kept;
    if (signature.labelOutput && nonTensor.has(signature.labelOutput)) delete signature.labelOutput;
    if (signature.probabilityOutput && nonTensor.has(signature.probabilityOutput)) delete signature.probabilityOutput;
  }
}
