import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { TSignature, TTensorSpec } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';

export type OnnxSession = ort.InferenceSession;

/** One thread per session: the API runs several processes and many sessions on few cores. */
export const DEFAULT_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1 };

let emptyDir: string | undefined;

/**
 * An empty, read-only folder of this process. onnxruntime resolves a tensor's external data location against the
 * folder of the model file, and for a model given as bytes against the process's working directory, where the
 * platform keeps its data (.data/: secrets, artifacts, logs). Sessions are created with this folder as the one
 * external data resolves in, so a model that got past validation with such a reference still finds nothing
 * (onnxruntime 1.30 also refuses absolute locations and `..` escapes).
 */
export function emptyExternalDataDir(): string {
  if (!emptyDir) {
    emptyDir = mkdtempSync(path.join(tmpdir(), 'modelyard-no-external-data-'));
    chmodSync(emptyDir, 0o500);
  }
  return emptyDir;
}

/**
 * Session options that every session of an uploaded model gets: `options`, with external data pinned to
 * emptyExternalDataDir (the caller's other `extra.session` entries are kept).
 */
export function isolatedSessionOptions(options: ort.InferenceSession.SessionOptions = {}): ort.InferenceSession.SessionOptions {
  const extra = (options.extra ?? {}) as { session?: Record<string, unknown> };
  return {
    ...options,
    extra: { ...extra, session: { ...extra.session, model_external_initializers_file_folder_path: emptyExternalDataDir() } },
  };
}

/** Loads a model in onnxruntime-node. VALIDATION_FAILED with onnxruntime's reason when it refuses the model. */
export async function createOnnxSession(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<OnnxSession> {
  try {
    return await ort.InferenceSession.create(bytes, isolatedSessionOptions({ ...DEFAULT_SESSION_OPTIONS, ...options }));
  } catch (e) {
    const reason = String((e as Error)?.message ?? e).replace(/^Load model from (buffer|.*?) failed:\s*/, '');
    throw new AppError('VALIDATION_FAILED', `onnxruntime could not load the model: ${reason}`);
  }
}

/** A sample row: a record by feature name (each input takes its `columns`), or values in input order. */
export type SampleRow = Record<string, unknown> | readonly unknown[];

/** Output name -> nested array shaped like the tensor ([N] or [N, C] ...), ready for JSON. */
export type SampleOutputs = Record<string, unknown[]>;

const NUMERIC = new Set(['float32', 'float64', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32']);

const badRow = (row: number, what: string) => new AppError('BAD_REQUEST', `Row ${row}: ${what}`);

/** Values per row of one input (the product of its non-batch dims), or undefined when a dim is dynamic. */
function rowWidth(spec: TTensorSpec): number | undefined {
  const dims = spec.shape.slice(1);
  return dims.some((d) => d < 0) ? undefined : dims.reduce((a, b) => a * b, 1);
}

/** Flattens each row into the values of every input, in signature order. */
function rowValues(signature: TSignature, rows: readonly SampleRow[]): unknown[][][] {
  const perInput = signature.inputs.map(() => [] as unknown[][]);
  rows.forEach((row, r) => {
    if (Array.isArray(row)) {
      const flat = (row as unknown[]).flat(Infinity);
      let offset = 0;
      signature.inputs.forEach((spec, i) => {
        const single = signature.inputs.length === 1;
        const width = rowWidth(spec) ?? (single ? flat.length : undefined);
        if (width === undefined) throw badRow(r, `input "${spec.name}" has a dynamic width; send records by feature name instead`);
        perInput[i]!.push(flat.slice(offset, offset + width));
        offset += width;
      });
      if (offset !== flat.length) throw badRow(r, `expected ${offset} values, got ${flat.length}`);
    } else if (row && typeof row === 'object') {
      const record = row as Record<string, unknown>;
      signature.inputs.forEach((spec, i) => {
        if (!spec.columns) throw badRow(r, `input "${spec.name}" has no feature names; send the row as an array of values`);
        perInput[i]!.push(spec.columns.map((c) => {
          if (!(c in record)) throw badRow(r, `feature "${c}" is missing`);
          return record[c];
        }));
      });
    } else {
      throw badRow(r, 'expected an object of features or an array of values');
    }
  });
  return perInput;
}

function tensorOf(spec: TTensorSpec, rows: unknown[][]): ort.Tensor {
  const width = rows[0]?.length ?? 0;
  const dims = spec.shape.length <= 1 ? [rows.length] : [rows.length, ...spec.shape.slice(1).map((d, _, all) => (d >= 0 ? d : all.length === 1 ? width : d))];
  if (dims.some((d) => d < 0)) throw new AppError('BAD_REQUEST', `Input "${spec.name}" has more than one dynamic dimension; runSamples cannot shape it`);
  const perRow = dims.slice(1).reduce((a, b) => a * b, 1);
  const short = rows.findIndex((r) => r.length !== perRow);
  if (short >= 0) throw badRow(short, `input "${spec.name}" needs ${perRow} values, got ${rows[short]!.length}`);
  const flat = rows.flat();
  const check = (ok: (v: unknown) => boolean, what: string) => flat.forEach((v, k) => {
    if (!ok(v)) throw badRow(Math.floor(k / Math.max(width, 1)), `input "${spec.name}" needs ${what}, got ${JSON.stringify(v)}`);
  });
  switch (spec.dtype) {
    case 'string':
      check((v) => typeof v === 'string', 'strings');
      return new ort.Tensor('string', flat as string[], dims);
    case 'bool':
      check((v) => typeof v === 'boolean' || v === 0 || v === 1, 'booleans');
      return new ort.Tensor('bool', Uint8Array.from(flat, (v) => (v ? 1 : 0)), dims);
    case 'int64':
    case 'uint64':
      check((v) => Number.isSafeInteger(v), 'integers');
      return new ort.Tensor(spec.dtype, spec.dtype === 'int64' ? BigInt64Array.from(flat as number[], BigInt) : BigUint64Array.from(flat as number[], BigInt), dims);
    case 'float16':
      throw new AppError('BAD_REQUEST', `Input "${spec.name}" is float16, which runSamples does not feed yet`);
    default:
      if (!NUMERIC.has(spec.dtype)) throw new AppError('BAD_REQUEST', `Input "${spec.name}" has type ${spec.dtype}, which runSamples does not feed`);
      check((v) => typeof v === 'number' && Number.isFinite(v), 'finite numbers');
      return new ort.Tensor(spec.dtype, flat as number[], dims);
  }
}

/** A tensor as nested JS arrays; int64 values become numbers (strings beyond 2^53, so nothing is silently rounded). */
export function tensorToJson(t: ort.Tensor): unknown[] {
  const data = t.data as ArrayLike<unknown>;
  const flat = Array.from(data, (v) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : t.type === 'bool' ? v === 1 : v));
  const nest = (values: unknown[], dims: readonly number[]): unknown[] => {
    if (dims.length <= 1) return values;
    const size = values.length / dims[0]!;
    return Array.from({ length: dims[0]! }, (_, i) => nest(values.slice(i * size, (i + 1) * size), dims.slice(1)));
  };
  return nest(flat, t.dims);
}

/**
 * Runs rows through a session using the signature: builds each input from the rows, fetches the signature's
 * outputs (never a ZipMap seq(map), which onnxruntime-node cannot return) and gives them back as JSON.
 * BAD_REQUEST naming the row and feature when a row does not fit. A minimal helper; the serving engine has its own.
 */
export async function runSamples(session: OnnxSession, signature: TSignature, rows: readonly SampleRow[]): Promise<SampleOutputs> {
  if (!rows.length) return {};
  const perInput = rowValues(signature, rows);
  const feeds = Object.fromEntries(signature.inputs.map((spec, i) => [spec.name, tensorOf(spec, perInput[i]!)]));
  return runFeeds(session, signature, feeds);
}

/** Like runSamples, with each input given as a (nested) array of rows, e.g. samples.json `input_data`. */
export async function runInputs(session: OnnxSession, signature: TSignature, inputs: Record<string, readonly unknown[]>): Promise<SampleOutputs> {
  const feeds = Object.fromEntries(signature.inputs.map((spec) => {
    const rows = inputs[spec.name];
    if (!rows) throw new AppError('BAD_REQUEST', `Input "${spec.name}" is missing`);
    return [spec.name, tensorOf(spec, rows.map((r) => (Array.isArray(r) ? (r as unknown[]).flat(Infinity) : [r])))];
  }));
  return runFeeds(session, signature, feeds);
}

async function runFeeds(session: OnnxSession, signature: TSignature, feeds: Record<string, ort.Tensor>): Promise<SampleOutputs> {
  const names = signature.outputs.map((o) => o.name);
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await session.run(feeds, names);
  } catch (e) {
    throw new AppError('VALIDATION_FAILED', `The model failed on the sample rows: ${(e as Error).message}`);
  }
  return Object.fromEntries(names.map((n) => [n, tensorToJson(results[n]!)]));
}
