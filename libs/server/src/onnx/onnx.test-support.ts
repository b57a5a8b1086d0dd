import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../platform/errors.js';

// Specs run from libs/server/dist/onnx; the fixtures stay in src (tsc does not copy them).
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../../..');

/** Fixtures made by ./fixtures/make_fixtures.py. */
export const FIXTURES_DIR = path.join(repoRoot, 'libs/server/src/onnx/fixtures');
/** The project's reference models, copied into the repository (test/fixtures/models/PROVENANCE.md). */
export const SHARED_MODELS_DIR = path.join(repoRoot, 'test/fixtures/models');
export const SHARED_MODELS = ['iris_logreg', 'iris_rf', 'digits_mlp'] as const;

/** The shape of samples.json (shared models) and of our fixtures' <name>.json. */
export interface SampleFile {
  name: string;
  inputs: { name: string; dtype: string; shape: (number | string)[]; columns?: string[] }[];
  outputs: { name: string; dtype: string; shape: (number | string)[] }[];
  feature_names?: string[];
  classes?: (number | string)[];
  class_names?: string[];
  input_data: Record<string, unknown[]>;
  records?: Record<string, unknown>[];
  expected: Record<string, unknown[]>;
  /** Expected values that are not a model output, and how they were computed. */
  derived?: Record<string, string>;
  tolerance: Record<string, number | string>;
}

export function sharedModel(name: string): { bytes: Buffer; samples: SampleFile } {
  const dir = path.join(SHARED_MODELS_DIR, name);
  return {
    bytes: readFileSync(path.join(dir, 'model.onnx')),
    samples: JSON.parse(readFileSync(path.join(dir, 'samples.json'), 'utf8')) as SampleFile,
  };
}

export function fixture(name: string): { bytes: Buffer; samples: SampleFile } {
  const json = path.join(FIXTURES_DIR, `${name}.json`);
  return {
    bytes: readFileSync(path.join(FIXTURES_DIR, `${name}.onnx`)),
    samples: (existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : {}) as SampleFile,
  };
}

/** A samples.json shape (`["N", 4]`) as a signature shape (`[-1, 4]`). */
export const specShape = (shape: (number | string)[]) => shape.map((d) => (typeof d === 'number' ? d : -1));

/** Compares an output with samples.json `expected`: exactly when the tolerance is not a number, else per value. */
export function assertMatches(
  name: string,
  actual: unknown[],
  expected: unknown[],
  tolerance: number | string | undefined,
): void {
  const a = actual.flat(Infinity);
  const e = expected.flat(Infinity);
  assert.equal(a.length, e.length, `${name}: ${a.length} values, expected ${e.length}`);
  if (typeof tolerance !== 'number') {
    assert.deepEqual(a, e, `${name} differs`);
    return;
  }
  a.forEach((v, i) => {
    assert.ok(
      Math.abs((v as number) - (e[i] as number)) <= tolerance,
      `${name}[${i}]: ${String(v)} vs expected ${String(e[i])} (tolerance ${tolerance})`,
    );
  });
}

/** For assert.rejects / assert.throws: a VALIDATION_FAILED AppError whose message matches. */
export function validationFailed(message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof AppError, `expected an AppError, got ${String(e)}`);
    assert.equal(e.code, 'VALIDATION_FAILED');
    assert.match(e.message, message);
    return true;
  };
}

/** Deterministic bytes (mulberry32), so a failing case can be reproduced. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

/** The hostile-model corpus (test/fixtures/hostile, made by make-hostile.mjs; README.md there says what each is). */
export const HOSTILE_DIR = path.join(repoRoot, 'test/fixtures/hostile');
export const hostile = (name: string): Buffer => readFileSync(path.join(HOSTILE_DIR, `${name}.onnx`));
