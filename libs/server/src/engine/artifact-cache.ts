import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../platform/errors.js';

const sha256Of = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The registry's facts about a version's artifacts, as far as serving them goes. */
export interface ArtifactFacts {
  storageUri: string;
  servingUri: string | null;
  sha256: string | null;
  servingSha256: string | null;
}

/**
 * What a version serves and the SHA-256 those bytes must have: the upload, or its derived copy (ZipMap stripped),
 * which has its own checksum (versions registered before it was kept have none: null).
 */
export function servedArtifact(v: ArtifactFacts): { uri: string; sha256: string | null } {
  const uri = v.servingUri ?? v.storageUri;
  return { uri, sha256: uri === v.storageUri ? v.sha256 : v.servingSha256 };
}

/** INTERNAL when `bytes` are not what the registry stored under `uri`: never load them. */
export function assertChecksum(bytes: Buffer, sha256: string | null, uri: string): void {
  if (sha256 && sha256Of(bytes) !== sha256) {
    throw new AppError('INTERNAL', `The stored artifact ${uri} does not match its checksum`);
  }
}

/**
 * The bytes of a served artifact: from the local cache (MODEL_CACHE_DIR) when its copy matches `sha256`, else from
 * storage (`download`), verified, then cached. A cached file that fails its checksum (tampered with, half written)
 * is downloaded again; downloaded bytes that fail it are refused (INTERNAL), never loaded. Without a checksum
 * (versions from before serving copies had one) the bytes are taken as they are.
 */
export async function verifiedArtifact(
  cacheDir: string,
  uri: string,
  sha256: string | null,
  download: () => Promise<Buffer>,
  warn: (msg: string) => void = () => {},
): Promise<Buffer> {
  const dir = path.resolve(cacheDir);
  const file = path.join(dir, `${createHash('sha256').update(uri).digest('hex')}.onnx`);
  if (existsSync(file)) {
    const cached = readFileSync(file);
    if (!sha256 || sha256Of(cached) === sha256) return cached;
    warn('cached artifact failed its checksum; downloading again');
  }
  const bytes = await download();
  assertChecksum(bytes, sha256, uri);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
  return bytes;
}
