import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, RestError, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { Readable } from 'node:stream';
import type { StorageConfig } from '@modelyard/config';
import { AppError, notFound } from '../platform/errors.js';
import { meteredWrite } from './metered-write.js';
import type { PutOptions, StorageBackend, StoredObject } from './storage-backend.js';
import { checkKey, parseBucketUri } from './storage-uri.js';

export interface AzureTuning {
  /** Bytes per staged block; an upload that fits in one block is a single Put Blob. */
  blockSize: number;
  /** Blocks in flight per upload. Memory per upload is about blockSize * (concurrency + 1). */
  concurrency: number;
}

const DEFAULT_TUNING: AzureTuning = { blockSize: 4 * 1024 * 1024, concurrency: 2 };

const isMissing = (err: unknown) => err instanceof RestError && err.statusCode === 404;

/** Azure Blob Storage (or Azurite). URIs are `azure://<container>/<blob>`; only the configured container is addressable. */
export class AzureBackend implements StorageBackend {
  readonly kind = 'azure' as const;
  private readonly container: ContainerClient;
  private containerReady: Promise<void> | null = null;

  /** `credential` stands in for the pod identity (DefaultAzureCredential) where the config gives an account URL. */
  constructor(
    cfg: NonNullable<StorageConfig['azure']>,
    private readonly tuning: AzureTuning = DEFAULT_TUNING,
    credential?: TokenCredential,
  ) {
    const service =
      'connectionString' in cfg
        ? BlobServiceClient.fromConnectionString(cfg.connectionString)
        : // Workload identity (AZURE_FEDERATED_TOKEN_FILE, injected by its webhook), managed identity, AZURE_* variables.
          new BlobServiceClient(cfg.accountUrl, credential ?? new DefaultAzureCredential());
    this.container = service.getContainerClient(cfg.container);
  }

  async put(key: string, body: Readable, opts: PutOptions): Promise<StoredObject> {
    return meteredWrite(body, opts, async (data) => {
      const blob = this.container.getBlockBlobClient(checkKey(key));
      await this.ensureContainer();
      await this.upload(blob, data, opts.contentType);
      return `azure://${this.container.containerName}/${key}`;
    });
  }

  async get(uri: string): Promise<Readable> {
    const blob = this.blobOf(uri);
    try {
      const res = await blob.download();
      const stream = res.readableStreamBody;
      if (!(stream instanceof Readable)) throw new Error('Azure download returned no Node.js stream');
      return stream;
    } catch (err) {
      if (isMissing(err)) throw notFound(`Artifact ${uri}`);
      throw err;
    }
  }

  async stat(uri: string): Promise<{ sizeBytes: number } | null> {
    const blob = this.blobOf(uri);
    try {
      return { sizeBytes: (await blob.getProperties()).contentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async exists(uri: string): Promise<boolean> {
    return (await this.stat(uri)) !== null;
  }

  async delete(uri: string): Promise<void> {
    // 404 covers a missing blob and a container that was never created.
    await this.blobOf(uri)
      .delete()
      .catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
  }

  checkUri(uri: string): void {
    this.blobOf(uri);
  }

  keyOf(uri: string): string {
    return this.blobOf(uri).name;
  }

  async list(prefix: string, limit: number): Promise<{ uri: string; key: string; sizeBytes: number }[]> {
    const out: { uri: string; key: string; sizeBytes: number }[] = [];
    try {
      for await (const b of this.container.listBlobsFlat({ prefix })) {
        out.push({
          uri: `azure://${this.container.containerName}/${b.name}`,
          key: b.name,
          sizeBytes: b.properties.contentLength ?? 0,
        });
        if (out.length >= limit) break;
      }
    } catch (err) {
      if (!isMissing(err)) throw err; // a container never created holds nothing
    }
    return out;
  }

  async close(): Promise<void> {}

  /**
   * Stages blocks itself instead of using the SDK's uploadStream, because uploadStream rejects on a stream
   * error while blocks are still in flight: a block landing after the cleanup would be an orphan. Here every
   * staged request has settled before cleanup, and a blob without committed blocks is never visible.
   */
  private async upload(blob: BlockBlobClient, data: Readable, contentType?: string): Promise<void> {
    const headers = { blobHTTPHeaders: { blobContentType: contentType } };
    const ids: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let stageError: unknown = null;
    const stage = (block: Buffer) => {
      // Block ids must all have the same length within a blob.
      const id = Buffer.from(String(ids.length).padStart(8, '0')).toString('base64');
      ids.push(id);
      const p: Promise<void> = blob.stageBlock(id, block, block.length).then(
        () => {
          inFlight.delete(p);
        },
        (err: unknown) => {
          stageError ??= err;
          inFlight.delete(p);
        },
      );
      inFlight.add(p);
    };
    try {
      let pending: Buffer | null = null;
      for await (const block of blocks(data, this.tuning.blockSize)) {
        if (pending) stage(pending);
        pending = block;
        while (inFlight.size >= this.tuning.concurrency) await Promise.race(inFlight);
        if (stageError) throw stageError;
      }
      if (ids.length === 0) {
        await blob.upload(pending ?? Buffer.alloc(0), pending?.length ?? 0, headers);
        return;
      }
      if (pending) stage(pending);
      await Promise.all(inFlight);
      if (stageError) throw stageError;
      await blob.commitBlockList(ids, headers);
    } catch (err) {
      await Promise.allSettled(inFlight);
      if (ids.length > 0) await this.discardBlocks(blob);
      throw err;
    }
  }

  /**
   * Staged but uncommitted blocks are invisible and Azure drops them after a week; we drop them now.
   * Committing an empty list turns them into an empty blob we can delete. Not when a committed blob is
   * already there (a put that meant to replace it): that one stays, and so do the blocks, until Azure's sweep.
   */
  private async discardBlocks(blob: BlockBlobClient): Promise<void> {
    try {
      if (await blob.exists()) return;
      await blob.commitBlockList([]);
      await blob.deleteIfExists();
    } catch {
      // Best effort: the error the caller needs is the upload's, and the blocks expire on their own.
    }
  }

  /**
   * Creates the container on first use, so a fresh account (or Azurite) works without a setup step. A
   * connection string limited to blobs (a SAS without container rights) may not create it: then it must
   * exist already, and the upload itself reports it if it does not.
   */
  private ensureContainer(): Promise<void> {
    this.containerReady ??= this.container.createIfNotExists().then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof RestError && err.statusCode === 403) return;
        this.containerReady = null;
        throw err;
      },
    );
    return this.containerReady;
  }

  private blobOf(uri: string): BlockBlobClient {
    const { bucket, key } = parseBucketUri(uri, 'azure');
    if (bucket !== this.container.containerName) {
      throw new AppError(
        'BAD_REQUEST',
        `Cannot use storage URI ${uri}: only the configured container ${this.container.containerName} is readable`,
      );
    }
    return this.container.getBlockBlobClient(key);
  }
}

/** Regroups a stream's chunks into blocks of at least `size` bytes (the last may be smaller). */
async function* blocks(data: Readable, size: number): AsyncGenerator<Buffer> {
  let chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of data) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= size) {
      yield Buffer.concat(chunks, length);
      chunks = [];
      length = 0;
    }
  }
  if (length > 0) yield Buffer.concat(chunks, length);
}
