import type { Principal } from '../auth/principal.js';
import { AppError } from '../platform/errors.js';
import { DEFAULT_PROJECT } from './model-key.js';

/** Where a project keeps the data it points Modelyard at (artifacts, batch inputs, schedule folders). */
export const projectStoragePrefix = (project: string) => `projects/${project}/`;

/**
 * What the platform writes itself: uploaded artifacts and their derived copies, job files, MLflow artifacts. A
 * caller registers or scores by upload, never by pointing at these (they hold every model's data), at the storage
 * root (the default project's and MLflow's) nor under a project's platformHome.
 */
const PLATFORM_PREFIXES = ['models/', 'jobs/', 'mlflow-artifacts/'];

/**
 * Where the platform writes a project's uploads and job files: the storage root for `default` (where everything
 * from before projects is), `projects/<name>/` for any other, so a project's data sits under one prefix an
 * operator can list, bill, copy or delete.
 */
export const platformHome = (project: string) => (project === DEFAULT_PROJECT ? '' : projectStoragePrefix(project));

/**
 * A place in storage: the backend that serves it and its key there. Each backend reads one root, bucket or
 * container (StorageService refuses any other), so the pair names one place.
 */
export interface StorageLocation {
  backend: string;
  key: string;
}

/**
 * A key as it names a place: "a//b" and "./a" name "a/b" and "a" (folded), ".." is refused (it would climb out
 * of whatever prefix the key seems to be under). A trailing "/" is kept: it says "a folder".
 */
export function plainKey(key: string, what: string): string {
  const segments = key.split('/');
  if (segments.includes('..')) throw refusal(what, 'may not contain ".."');
  return segments.filter((s) => s !== '' && s !== '.').join('/') + (key.endsWith('/') ? '/' : '');
}

/**
 * Whether `key` is `folder` itself or inside it, by whole path segments: `shared` holds `shared/x` but not
 * `shared-secret/x`. Both are plain keys (plainKey); an empty folder is the whole backend.
 */
export function underFolder(key: string, folder: string): boolean {
  const f = folder.replace(/\/+$/, '');
  if (f === '') return true;
  return key === f || key.startsWith(`${f}/`);
}

/**
 * Refuses a storage location a caller names (artifactUri, inputUri, outputPrefix, a schedule's inputPrefix, a
 * drift dataset) outside what its project may read: a project other than `default` reads only under
 * `projects/<its name>/` and the operator's import prefixes (`imports`, STORAGE_IMPORT_PREFIXES); `default`
 * (everything from before projects) reads anywhere else too. The platform's own prefixes and other projects'
 * are refused even inside an import prefix: an operator listing a bucket root shares that bucket's other data,
 * not every project's uploads. `at.key` is the location's key in its backend (StorageService.locate). The system
 * is not limited.
 */
export function checkStorageReference(
  actor: Principal,
  at: StorageLocation,
  what: string,
  imports: readonly StorageLocation[],
): void {
  if (!actor.project) return;
  const plain = plainKey(at.key, what);
  const own = projectStoragePrefix(actor.project.name);
  if (plain.startsWith(own)) {
    if (PLATFORM_PREFIXES.some((p) => plain.startsWith(own + p)))
      throw refusal(what, `is the platform's own storage (${own}${PLATFORM_PREFIXES.join(', ')}); upload the file`);
    return;
  }
  if (PLATFORM_PREFIXES.some((p) => plain.startsWith(p)) || plain.startsWith('projects/'))
    throw refusal(what, `is the platform's own storage or another project's; use ${own} (or upload the file)`);
  if (imports.some((i) => i.backend === at.backend && underFolder(plain, i.key))) return;
  if (actor.project.name !== DEFAULT_PROJECT)
    throw refusal(what, `must be under ${own} in project storage, or under an import prefix the operator listed`);
}

const refusal = (what: string, why: string) => new AppError('FORBIDDEN', `${what} ${why}`);
