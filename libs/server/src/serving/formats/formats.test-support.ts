import assert from 'node:assert/strict';
import { type ServedVersion, type Session, Tensor } from '../../engine/index.js';
import type { TSignature } from '@modelyard/contracts';
import { AppError } from '../../platform/errors.js';

/** Factories for the format adapters' specs: a served version needs only its signature to parse and render. */
export const IRIS_COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

export function irisSignature(): TSignature {
  return {
    inputs: [{ name: 'float_input', dtype: 'float32', shape: [-1, 4], columns: [...IRIS_COLUMNS] }],
    outputs: [
      { name: 'label', dtype: 'int64', shape: [-1] },
      { name: 'probabilities', dtype: 'float32', shape: [-1, 3] },
    ],
    classes: [0, 1, 2],
    task: 'classification',
    labelOutput: 'label',
    probabilityOutput: 'probabilities',
  };
}

/** test/fixtures/two_inputs.onnx: a = [N, 2] (a0, a1), b = [N, 1] (b0) -> total [N, 1], doubled [N, 3]. */
export function twoInputSignature(): TSignature {
  return {
    inputs: [
      { name: 'a', dtype: 'float32', shape: [-1, 2], columns: ['a0', 'a1'] },
      { name: 'b', dtype: 'float32', shape: [-1, 1], columns: ['b0'] },
    ],
    outputs: [
      { name: 'total', dtype: 'float32', shape: [-1, 1] },
      { name: 'doubled', dtype: 'float32', shape: [-1, 3] },
    ],
    task: 'regression',
  };
}

export function served(signature: TSignature, over: Partial<ServedVersion> = {}): ServedVersion {
  return {
    model: 'm',
    version: 3,
    versionId: 'v-id',
    signature,
    session: null as unknown as Session,
    contained: null,
    outputNames: signature.outputs.map((o) => o.name),
    labelOutput: signature.labelOutput ?? null,
    probabilityOutput: signature.probabilityOutput ?? null,
    loadedAt: 0,
    loadMs: 0,
    ...over,
  };
}

export const LIMITS = { maxRows: 100 };

export const tensor = (type: Tensor.Type, data: unknown, dims: number[]) =>
  new Tensor(type as 'float32', data as Float32Array, dims);

/** Asserts a 400 (or `status`) AppError whose message matches. */
export function assertInputError(fn: () => unknown, message: RegExp, status = 400) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AppError, `not an AppError: ${String(e)}`);
    assert.equal(e.status, status);
    assert.match(e.message, message);
    return true;
  });
}

export const values = (t: Tensor | undefined) => Array.from(t!.data as ArrayLike<unknown>);
