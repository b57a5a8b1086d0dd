import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../platform/errors.js';
import type { StorageKind } from '../registry/ports.js';

// One declaration of the backend names: the registry's port owns it, and re-exporting the same symbol keeps
// `export *` of both modules from the package index unambiguous.
export type { StorageKind };

/** The URI scheme each backend writes and reads: `file:///abs/path`, `s3://bucket/key`, `azure://container/blob`. */
const SCHEMES: Record<string, StorageKind> = { file: 'local', s3: 's3', azure: 'azure' };

const badUri = (uri: string, why: string) =>
  new AppError('BAD_REQUEST', `Cannot use storage URI ${JSON.stringify(uri.slice(0, 300))}: ${why}`);

/** Which backend a URI belongs to, by scheme. BAD_REQUEST for anything else (http://, gs://, a bare path). */
export function kindOfUri(uri: string): StorageKind {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  const kind = scheme === undefined ? undefined : SCHEMES[scheme];
  if (!kind)
    throw badUri(
      uri,
      `the scheme must be one of ${Object.keys(SCHEMES)
        .map((s) => `${s}://`)
        .join(', ')}`,
    );
  return kind;
}

/**
 * Checks an object key (`models/iris/3f2a/model.onnx`) and returns it. Keys are relative, `/`-separated, and
 * have no empty, `.` or `..` segments: the same key must name the same place on every backend, and on the
 * local one it must never climb out of the root.
 */
export function checkKey(key: string): string {
  const bad = (why: string) =>
    new AppError('BAD_REQUEST', `Invalid storage key ${JSON.stringify(key.slice(0, 300))}: ${why}`);
  if (key.length === 0 || key.length > 1024) throw bad('it must be 1 to 1024 characters');
  if (/[\u0000-\u001f\u007f\\]/.test(key)) throw bad('control characters and backslashes are not allowed');
  if (key.split('/').some((s) => s === '' || s === '.' || s === '..'))
    throw bad('empty, "." and ".." segments are not allowed');
  return key;
}

/** `s3://bucket/key` or `azure://container/blob` -> its two parts; the key is checked like a key we write. */
export function parseBucketUri(uri: string, scheme: 's3' | 'azure'): { bucket: string; key: string } {
  const m = new RegExp(`^${scheme}://([^/]+)/(.+)$`, 'i').exec(uri);
  if (!m) throw badUri(uri, `expected ${scheme}://${scheme === 's3' ? 'bucket' : 'container'}/key`);
  try {
    return { bucket: m[1]!, key: checkKey(m[2]!) };
  } catch (e) {
    throw e instanceof AppError ? badUri(uri, e.message) : e;
  }
}

/** The file a key names under `root` (absolute). */
export function localPathOfKey(root: string, key: string): string {
  return path.join(root, ...checkKey(key).split('/'));
}

/**
 * The file a `file://` URI names, which must lie strictly inside `root` (absolute, normalised). URL parsing
 * already folds `..` and `%2e%2e`; the containment check is what refuses `file:///etc/passwd`. Symlinks are
 * not followed here: only an operator with access to the root can plant one, and that is their call.
 */
export function localPathOfUri(root: string, uri: string): string {
  if (!/^file:\/\//i.test(uri)) throw badUri(uri, 'expected file:///absolute/path');
  let file: string;
  try {
    file = path.resolve(fileURLToPath(uri));
  } catch {
    throw badUri(uri, 'expected file:///absolute/path (no host, no encoded slashes)');
  }
  const rel = path.relative(root, file);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))
    throw badUri(uri, 'it is outside the local storage root');
  return file;
}
