import type { Readable } from 'node:stream';
import { AppError } from '../platform/errors.js';

/** A stored object's bytes, read whole: PAYLOAD_TOO_LARGE (naming `what`) past `limit` bytes, before reading more. */
export async function readBytes(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > limit) throw new AppError('PAYLOAD_TOO_LARGE', `${what} is larger than the ${limit}-byte limit`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
