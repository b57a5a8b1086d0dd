import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { AppError } from '../platform/errors.js';
import type { PutOptions, StoredObject } from './storage-backend.js';

/** Counts and hashes the bytes going through, and fails the moment there are more than `maxBytes`. */
class Meter extends Transform {
  sizeBytes = 0;
  overflowed = false;
  private readonly hash: Hash | null;

  constructor(
    private readonly maxBytes: number,
    hash: boolean,
  ) {
    super();
    this.hash = hash ? createHash('sha256') : null;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.sizeBytes += chunk.length;
    if (this.sizeBytes > this.maxBytes) {
      this.overflowed = true;
      return done(tooLarge(this.maxBytes));
    }
    this.hash?.update(chunk);
    done(null, chunk);
  }

  digest(): string {
    return this.hash?.digest('hex') ?? '';
  }
}

const tooLarge = (maxBytes: number) =>
  new AppError('PAYLOAD_TOO_LARGE', `The upload is larger than the limit of ${maxBytes} bytes`, { maxBytes });

/**
 * Streams `body` into a backend's `write` (which answers the new object's URI) through a meter, so size and
 * SHA-256 come from the bytes actually stored and nothing is ever held whole in memory. `write` must either
 * store everything or leave nothing behind (each backend knows how); this function only decides what the
 * caller is told when it does not:
 *
 * - more than `maxBytes`: PAYLOAD_TOO_LARGE (the body is destroyed, the rest is never read);
 * - the body failed or closed before its end (a client that went away, a truncated multipart part):
 *   BAD_REQUEST, because it is the uploader's problem, not ours. A source that says 413 itself (the HTTP
 *   layer's own size limit) stays PAYLOAD_TOO_LARGE;
 * - anything else (the backend is down, denied us, ...) is rethrown as it is: a 500 and a retry, not a 4xx.
 */
export async function meteredWrite(
  body: Readable,
  { maxBytes, sha256 }: Pick<PutOptions, 'maxBytes' | 'sha256'>,
  write: (data: Readable) => Promise<string>,
): Promise<StoredObject> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  const meter = new Meter(maxBytes, sha256 !== false);
  let sourceFailure: unknown = null;
  // Registered before pipeline() so these run first: the meter is still intact only when the body failed on
  // its own. When the meter or the backend fails first, pipeline destroys the body too, and that is no news.
  // Left attached afterwards, so a late error on the body can never be an unhandled 'error' event.
  const onSourceFailure = (err?: unknown) => {
    if (!meter.destroyed && sourceFailure === null) sourceFailure = err ?? new Error('the upload stream closed early');
  };
  body.on('error', onSourceFailure);
  body.once('close', () => {
    if (!body.readableEnded) onSourceFailure();
  });
  pipeline(body, meter, () => {
    // Errors are reported through `write`, which reads the meter; this callback only has to exist.
  });
  let uri: string;
  try {
    uri = await write(meter);
  } catch (err) {
    // Stop reading the body now, not on pipeline's next tick: a caller that sees the rejection may rely on it.
    meter.destroy();
    body.destroy();
    throw classify(err, meter, maxBytes, sourceFailure);
  }
  // A backend that resolves without reading to the end stored a prefix; a bug, refused rather than recorded.
  if (!meter.readableEnded) {
    body.destroy();
    throw new Error('storage backend finished before the upload ended');
  }
  return { uri, sizeBytes: meter.sizeBytes, sha256: meter.digest() };
}

function classify(err: unknown, meter: Meter, maxBytes: number, sourceFailure: unknown): unknown {
  if (meter.overflowed) return tooLarge(maxBytes);
  if (sourceFailure === null) return err;
  if (sourceFailure instanceof AppError) return sourceFailure;
  if ((sourceFailure as { statusCode?: unknown }).statusCode === 413) return tooLarge(maxBytes);
  return new AppError('BAD_REQUEST', 'The upload was interrupted before it completed; nothing was stored');
}
