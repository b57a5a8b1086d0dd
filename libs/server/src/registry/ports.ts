import type { Readable } from 'node:stream';
import type { StorageLocation } from '../tenancy/storage-scope.js';

export type StorageKind = 'local' | 's3' | 'azure';

/** What the registry needs from storage (implemented by the storage module). */
export interface ArtifactStore {
  defaultBackend(): StorageKind;
  /** Streams into the backend; PAYLOAD_TOO_LARGE / BAD_REQUEST with nothing left behind when it fails. */
  put(
    backend: StorageKind,
    key: string,
    body: Readable,
    opts: { maxBytes: number; contentType?: string },
  ): Promise<{ uri: string; sizeBytes: number; sha256: string }>;
  get(uri: string): Promise<Readable>;
  stat(uri: string): Promise<{ sizeBytes: number } | null>;
  delete(uri: string): Promise<void>;
  /** Removes files whose rows are gone, all of them; answers the ones that could not be removed (to log). */
  deleteAll(uris: readonly (string | null | undefined)[]): Promise<{ uri: string; err: unknown }[]>;
  /** Which backend serves this URI; BAD_REQUEST for a scheme or location we cannot read. */
  backendOf(uri: string): StorageKind;
  /** The URI's key in its backend (BAD_REQUEST for one outside its root, bucket or container). */
  keyOf(uri: string): string;
  /** The URI's backend and key, for checkStorageReference. */
  locate(uri: string): StorageLocation;
  /** Where every project may read besides its own storage (STORAGE_IMPORT_PREFIXES). */
  importPrefixes(): readonly StorageLocation[];
  maxUploadBytes(): number;
}
export const ARTIFACT_STORE = Symbol('ARTIFACT_STORE');

/**
 * What deleting a model needs from the jobs module (implemented by its repository): the model's jobs go with it
 * (their rows cascade), so their files must be known before, and none may still be working.
 */
export interface ModelJobs {
  /** The model's jobs that are queued or running. */
  activeCount(modelId: string): Promise<number>;
  /** Every file the platform wrote for the model's jobs (jobFileUris). */
  files(modelId: string): Promise<string[]>;
}
export const MODEL_JOBS = Symbol('MODEL_JOBS');

export interface InspectedModel {
  signature: Record<string, unknown>;
  warnings: string[];
  /** Present when the model had to be rewritten to serve (e.g. ZipMap removed): store and serve these bytes. */
  servingBytes?: Buffer;
  /** The outputs for the sample rows given to inspect, as JSON (per output name). */
  sampleOutput?: unknown;
}

/** What the registry needs from the ONNX layer (implemented by the onnx module). */
export interface ModelInspector {
  /**
   * Reads, prepares (servingBytes), loads and warms the model and runs the sample rows on what will be served.
   * VALIDATION_FAILED with a reason a user understands for anything that is not a loadable, runnable ONNX model.
   */
  inspect(bytes: Buffer, override?: Record<string, unknown>, sampleRows?: unknown[]): Promise<InspectedModel>;
  /** Runs sample rows (records by feature name, or arrays in input order) and returns the outputs as JSON. */
  runSamples(bytes: Buffer, signature: Record<string, unknown>, rows: unknown[]): Promise<unknown>;
}
export const MODEL_INSPECTOR = Symbol('MODEL_INSPECTOR');
