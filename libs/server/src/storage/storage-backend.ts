import type { Readable } from 'node:stream';
import type { StorageKind } from './storage-uri.js';

export interface PutOptions {
  /** More bytes than this: PAYLOAD_TOO_LARGE, and nothing stored. */
  maxBytes: number;
  contentType?: string;
  /** False: the SHA-256 is not computed (StoredObject.sha256 is ''); for large files nobody checks by hash. */
  sha256?: boolean;
}

/** How a whole-file read may go, where the backend decides it (a local file); other backends ignore both. */
export interface ReadOptions {
  /** How much to read at a time. */
  readBytes?: number;
  /**
   * A buffer the caller owns: the file's bytes are read straight into it from its start, and the stream's pieces
   * are views of it (past its end, buffers of their own). Fresh memory costs a page fault per 4 KiB on first
   * touch, more than the read itself on a VM; a caller that reuses its buffer pays that once.
   */
  into?: Uint8Array;
}

export interface StoredObject {
  uri: string;
  sizeBytes: number;
  /** Lowercase hex, computed from the bytes as they were streamed in. */
  sha256: string;
}

/**
 * One place artifacts live. Every backend passes the same contract suite (storage.int-spec.ts):
 *
 * - `put` streams (memory use is bounded by a part or block, whatever the size) and is all-or-nothing: on
 *   PAYLOAD_TOO_LARGE, on an interrupted body (BAD_REQUEST) or on a backend error, no object is left at the
 *   key and `body` has been destroyed. Putting to an existing key replaces it.
 * - `get` answers NOT_FOUND for a missing object; `stat` answers null; `delete` of a missing object is fine.
 * - URIs a backend did not write are checked first (`checkUri`): a URI outside its root, bucket or container
 *   is BAD_REQUEST, so a user cannot make the platform read or delete anything else its credentials reach.
 */
export interface StorageBackend {
  readonly kind: StorageKind;
  put(key: string, body: Readable, opts: PutOptions): Promise<StoredObject>;
  get(uri: string, opts?: ReadOptions): Promise<Readable>;
  stat(uri: string): Promise<{ sizeBytes: number } | null>;
  exists(uri: string): Promise<boolean>;
  delete(uri: string): Promise<void>;
  /** Throws BAD_REQUEST unless this backend may address `uri`. */
  checkUri(uri: string): void;
  /** The key `uri` names (what `put` would take to write there); BAD_REQUEST like checkUri. */
  keyOf(uri: string): string;
  /**
   * Objects whose key starts with `prefix` (a key prefix, not a glob), in key order, at most `limit` of them.
   * Partial uploads are never listed.
   */
  list(prefix: string, limit: number): Promise<{ uri: string; key: string; sizeBytes: number }[]>;
  /** Releases sockets at shutdown. */
  close(): Promise<void>;
}
