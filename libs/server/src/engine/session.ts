import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError } from '../platform/errors.js';
import { InferenceSession, type OrtSession, type Session, type SessionOptions } from './ort.js';

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
export function isolatedSessionOptions(options: SessionOptions = {}): SessionOptions {
  const extra = (options.extra ?? {}) as { session?: Record<string, unknown> };
  return {
    ...options,
    extra: {
      ...extra,
      session: { ...extra.session, model_external_initializers_file_folder_path: emptyExternalDataDir() },
    },
  };
}

/**
 * How every session of an uploaded model is made, in an api, the worker or the validation child alike: `threads`
 * intra-op threads, no inter-op parallelism, every graph optimisation. Spinning threads burn the cores other
 * requests and processes need, so they sleep when idle.
 */
export function servingSessionOptions(threads = 1): SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/**
 * Loads a model in onnxruntime-node, with servingSessionOptions overridden by `options` and external data pinned
 * to an empty folder (isolatedSessionOptions). VALIDATION_FAILED with onnxruntime's reason when it refuses it.
 */
export async function createSession(bytes: Uint8Array, options: SessionOptions = {}): Promise<OrtSession> {
  try {
    return await InferenceSession.create(bytes, isolatedSessionOptions({ ...servingSessionOptions(), ...options }));
  } catch (e) {
    const reason = String((e as Error)?.message ?? e).replace(/^Load model from (buffer|.*?) failed:\s*/, '');
    throw new AppError('VALIDATION_FAILED', `onnxruntime could not load the model: ${reason}`);
  }
}

/**
 * Opens a version that passed validation for serving: servingSessionOptions with `threads`, external data pinned
 * to the empty folder. onnxruntime's own error, unchanged, when it refuses the bytes (it accepted them before).
 */
export function openServedSession(bytes: Uint8Array, threads: number): Promise<Session> {
  return InferenceSession.create(bytes, isolatedSessionOptions(servingSessionOptions(threads)));
}
