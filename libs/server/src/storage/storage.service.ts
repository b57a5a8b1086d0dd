import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { CommonConfig } from '@modelyard/config';
import { AppError } from '../platform/errors.js';
import { COMMON_CONFIG } from '../platform/tokens.js';
import { traced, tracing } from '../platform/tracing.js';
import type { ArtifactStore } from '../registry/ports.js';
import { AzureBackend } from './azure.backend.js';
import { LocalBackend } from './local.backend.js';
import { S3Backend } from './s3.backend.js';
import type { PutOptions, ReadOptions, StorageBackend, StoredObject } from './storage-backend.js';
import { kindOfUri, type StorageKind } from './storage-uri.js';
import { plainKey, type StorageLocation } from '../tenancy/storage-scope.js';

/**
 * The storage backends this process has credentials for. Writes go to a backend chosen by name (the default
 * from config unless the caller picks one); reads, stats and deletes go by the URI's scheme, so versions
 * stored under an earlier default stay readable. Which backends exist is decided once, from config, at boot.
 */
@Injectable()
export class StorageService implements ArtifactStore, OnModuleDestroy {
  private readonly backends: Partial<Record<StorageKind, StorageBackend>>;
  private readonly config: CommonConfig['storage'];

  private readonly imports: StorageLocation[];

  constructor(@Inject(COMMON_CONFIG) config: Pick<CommonConfig, 'storage'>) {
    this.config = config.storage;
    const { local, s3, azure } = this.config;
    this.backends = {
      local: new LocalBackend(local.root),
      ...(s3 && { s3: new S3Backend(s3) }),
      ...(azure && { azure: new AzureBackend(azure) }),
    };
    this.imports = (this.config.importPrefixes ?? []).map((uri) => this.importPrefix(uri));
  }

  /**
   * STORAGE_IMPORT_PREFIXES as places: a folder URI becomes its backend and folder key. One that no backend here
   * can read (another bucket, outside the local root, a backend without credentials) stops the process at boot,
   * like any bad setting, rather than silently allowing nothing.
   */
  private importPrefix(uri: string): StorageLocation {
    try {
      // A folder is not an object: its key is found as a child's would be, then the child is dropped.
      const probe = this.locate(`${uri.replace(/\/+$/, '')}/x`);
      return { backend: probe.backend, key: plainKey(probe.key.slice(0, -1), 'STORAGE_IMPORT_PREFIXES') };
    } catch (err) {
      throw new Error(
        `STORAGE_IMPORT_PREFIXES: ${uri} is not readable here: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** The place a URI names (its backend and key); BAD_REQUEST like keyOf. */
  locate(uri: string): StorageLocation {
    const b = this.backendFor(uri);
    return { backend: b.kind, key: b.keyOf(uri) };
  }

  /** Where every project may read besides its own storage (STORAGE_IMPORT_PREFIXES), for checkStorageReference. */
  importPrefixes(): readonly StorageLocation[] {
    return this.imports;
  }

  defaultBackend(): StorageKind {
    return this.config.defaultBackend;
  }

  maxUploadBytes(): number {
    return this.config.maxUploadBytes;
  }

  /** The backends a registration may choose from. */
  configuredBackends(): StorageKind[] {
    return Object.keys(this.backends) as StorageKind[];
  }

  /** BAD_REQUEST when `kind` has no credentials in this installation. */
  backend(kind: StorageKind): StorageBackend {
    const b = this.backends[kind];
    if (!b) {
      throw new AppError(
        'BAD_REQUEST',
        `The ${kind} storage backend is not configured here; available: ${this.configuredBackends().join(', ')}`,
      );
    }
    return b;
  }

  /**
   * Which backend serves `uri`. BAD_REQUEST for an unknown scheme, a backend without credentials, or a place
   * outside the backend's root, bucket or container.
   */
  backendOf(uri: string): StorageKind {
    return this.backendFor(uri).kind;
  }

  /** Whether `backendOf` would accept `uri`. */
  canRead(uri: string): boolean {
    try {
      this.backendFor(uri);
      return true;
    } catch (err) {
      if (err instanceof AppError) return false;
      throw err;
    }
  }

  // Async all the way, including the checks: callers write `store.delete(uri).catch(...)`, and a synchronous
  // throw would escape that catch.

  async put(kind: StorageKind, key: string, body: Readable, opts: PutOptions): Promise<StoredObject> {
    let backend: StorageBackend;
    try {
      backend = this.backend(kind);
    } catch (err) {
      body.destroy(); // the contract: a failed put has consumed its body
      throw err;
    }
    return this.traced('put', `${kind}:${key}`, () => backend.put(key, body, opts));
  }

  /** Opens the object: the span covers finding it and starting the stream, not reading it to the end. */
  async get(uri: string, opts?: ReadOptions): Promise<Readable> {
    return this.traced('get', uri, async () => this.backendFor(uri).get(uri, opts));
  }

  async stat(uri: string): Promise<{ sizeBytes: number } | null> {
    return this.traced('stat', uri, async () => this.backendFor(uri).stat(uri));
  }

  async exists(uri: string): Promise<boolean> {
    return this.traced('exists', uri, async () => this.backendFor(uri).exists(uri));
  }

  async delete(uri: string): Promise<void> {
    return this.traced('delete', uri, async () => this.backendFor(uri).delete(uri));
  }

  /**
   * Removes files whose rows are gone, every one even when some fail, and answers those that could not be removed
   * and why. Nobody can reach such a file any more, so its caller logs a failure instead of failing.
   */
  async deleteAll(uris: readonly (string | null | undefined)[]): Promise<{ uri: string; err: unknown }[]> {
    const given = uris.filter((u): u is string => !!u);
    const results = await Promise.allSettled(given.map((u) => this.delete(u)));
    return results.flatMap((r, i) => (r.status === 'rejected' ? [{ uri: given[i]!, err: r.reason as unknown }] : []));
  }

  /** The key a URI names in its backend (to write a sibling of it). */
  keyOf(uri: string): string {
    return this.backendFor(uri).keyOf(uri);
  }

  /** Objects under a prefix URI (`s3://bucket/in/`, `file:///root/in/`), at most `limit`. */
  async list(prefixUri: string, limit = 10_000) {
    const b = this.backend(kindOfUri(prefixUri));
    // A prefix is not an object, so it is checked as the URI of a child would be.
    const probe = prefixUri.endsWith('/') ? `${prefixUri}x` : prefixUri;
    b.checkUri(probe);
    const key = b.keyOf(probe);
    return this.traced('list', prefixUri, () => b.list(prefixUri.endsWith('/') ? key.slice(0, -1) : key, limit));
  }

  async onModuleDestroy() {
    await Promise.all(Object.values(this.backends).map((b) => b.close()));
  }

  /** A span in the trace at hand (a worker's job) when tracing is on; `fn` alone otherwise. */
  private traced<R>(op: string, where: string, fn: () => Promise<R>): Promise<R> {
    if (!tracing.on) return fn();
    return traced(
      `storage ${op}`,
      'client',
      { 'modelyard.storage.operation': op, 'modelyard.storage.object': where },
      fn,
    );
  }

  private backendFor(uri: string): StorageBackend {
    const b = this.backend(kindOfUri(uri));
    b.checkUri(uri);
    return b;
  }
}
