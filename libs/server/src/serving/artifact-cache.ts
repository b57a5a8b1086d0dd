import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../platform/errors.js';

const sha256Of = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The bytes of a served artifact: from the local cache (MODEL_CACHE_DIR) when its copy matches `sha256`, else from
 * storage (`download`), verified, then cached. A cached file that fails its checksum (tampered with, half written)
 * is downloaded again; downloaded bytes that fail it are refused (INTERNAL), never loaded. Without a checksum
 * (versions from before serving copies had one) the bytes are taken as they are.
 */
export async function verifiedArtifact(cacheDir: string, uri: string, sha256: string | null, download: () => Promise<Buffer>, warn: (msg: string) => void = () => {}): Promise<Buffer> {
  const dir = path.resolve(cacheDir);
  const file = path.join(dir, `${createHash('sha256').update(uri).digest('hex')}.onnx`);
  if (existsSync(file)) {
    const cached = readFileSync(file);
    if (!sha256 || sha256Of(cached) === sha256) return cached;
    warn('cached artifact failed its checksum; downloading again');
  }
  const bytes = await download();
  if (sha256 && sha256Of(bytes) !== sha256) throw new AppError('INTERNAL', `The stored artifact ${uri} does not match its checksum`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
  return bytes;
}
