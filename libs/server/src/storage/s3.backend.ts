import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import type { StorageConfig } from '@modelyard/config';
import { AppError, notFound } from '../platform/errors.js';
import { meteredWrite } from './metered-write.js';
import type { PutOptions, StorageBackend, StoredObject } from './storage-backend.js';
import { checkKey, parseBucketUri } from './storage-uri.js';

export interface S3Tuning {
  /** Bytes per multipart part (S3's minimum is 5 MiB); a smaller upload is one PutObject. */
  partSize: number;
  /** Parts in flight per upload. Memory per upload is about partSize * (queueSize + 1). */
  queueSize: number;
}

const DEFAULT_TUNING: S3Tuning = { partSize: 8 * 1024 * 1024, queueSize: 2 };

const isMissing = (err: unknown) =>
  err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound');

/**
 * AWS S3 or anything that speaks its API (MinIO, Ceph, s3rver). URIs are `s3://<bucket>/<key>`, and only the
 * configured bucket is addressable.
 */
export class S3Backend implements StorageBackend {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(
    cfg: NonNullable<StorageConfig['s3']>,
    private readonly tuning: S3Tuning = DEFAULT_TUNING,
  ) {
    this.bucket = cfg.bucket;
    this.client = new S3Client({
      region: cfg.region,
      endpoint: cfg.endpoint,
      forcePathStyle: cfg.forcePathStyle,
      // Without static keys the SDK's default chain finds the pod's identity: AWS_* variables, the web identity
      // token EKS mounts for IRSA (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), EKS Pod Identity, instance roles.
      credentials:
        cfg.accessKeyId && cfg.secretAccessKey
          ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey }
          : undefined,
      // The SDK's default CRC32 trailers are not understood by older S3-compatible servers (s3rver, some
      // MinIO/Ceph releases); ask for checksums only where the API requires them. Integrity is our SHA-256.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Readable, opts: PutOptions): Promise<StoredObject> {
    return meteredWrite(body, opts, async (data) => {
      checkKey(key);
      // All-or-nothing comes from S3 itself: an object appears only when a PutObject or a
      // CompleteMultipartUpload succeeds, and on any failure Upload aborts the multipart upload
      // (leavePartsOnError: false), which frees the parts already sent. A bucket lifecycle rule
      // (AbortIncompleteMultipartUpload) covers the case where even the abort cannot reach the server.
      await new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: key, Body: data, ContentType: opts.contentType },
        partSize: this.tuning.partSize,
        queueSize: this.tuning.queueSize,
        leavePartsOnError: false,
      }).done();
      return `s3://${this.bucket}/${key}`;
    });
  }

  async get(uri: string): Promise<Readable> {
    const key = this.keyOf(uri);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!(out.Body instanceof Readable)) throw new Error('S3 GetObject returned no Node.js stream');
      return out.Body;
    } catch (err) {
      if (isMissing(err)) throw notFound(`Artifact ${uri}`);
      throw err;
    }
  }

  async stat(uri: string): Promise<{ sizeBytes: number } | null> {
    const key = this.keyOf(uri);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { sizeBytes: out.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async exists(uri: string): Promise<boolean> {
    return (await this.stat(uri)) !== null;
  }

  async delete(uri: string): Promise<void> {
    // DeleteObject answers 204 whether or not the key existed.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(uri) }));
  }

  checkUri(uri: string): void {
    this.keyOf(uri);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  async list(prefix: string, limit: number): Promise<{ uri: string; key: string; sizeBytes: number }[]> {
    const out: { uri: string; key: string; sizeBytes: number }[] = [];
    let token: string | undefined;
    do {
      // Whole pages, trimmed here: s3rver fails on a truncated V2 listing with a small MaxKeys.
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? [])
        out.push({ uri: `s3://${this.bucket}/${o.Key!}`, key: o.Key!, sizeBytes: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && out.length < limit);
    return out.slice(0, limit);
  }

  keyOf(uri: string): string {
    const { bucket, key } = parseBucketUri(uri, 's3');
    if (bucket !== this.bucket) {
      throw new AppError(
        'BAD_REQUEST',
        `Cannot use storage URI ${uri}: only the configured bucket ${this.bucket} is readable`,
      );
    }
    return key;
  }
}
