import type { Principal } from '../auth/principal.js';
import { AppError } from '../platform/errors.js';
import { DEFAULT_PROJECT } from './model-key.js';

/** Where a project keeps the data it points Modelyard at (artifacts, batch inputs, schedule folders). */
export const projectStoragePrefix = (project: string) => `projects/${project}/`;

/**
 * What the platform writes itself: uploaded artifacts and their derived copies, job files, MLflow artifacts. A
 * caller registers or scores by upload, never by pointing at these (they hold every project's and model's data).
 */
const PLATFORM_PREFIXES = ['models/', 'jobs/', 'mlflow-artifacts/'];

/**
 * Refuses a storage location a caller names (artifactUri, inputUri, outputPrefix, a schedule's inputPrefix, a
 * drift dataset) outside what its project may read: a project other than `default` reads only under
 * `projects/<its name>/`; `default` (everything from before projects) reads anywhere else too, except the
 * platform's own prefixes and other projects'. `key` is the location's key in its backend
 * (StorageService.keyOf). The system is not limited.
 */
export function checkStorageReference(actor: Principal, key: string, what: string): void {
  if (!actor.project) return;
  const segments = key.split('/');
  // "a//b", "./a" and "a/../b" name other keys than they seem to: judged on the plain form, ".." refused.
  if (segments.includes('..')) throw refusal(what, 'may not contain ".."');
  const plain = segments.filter((s) => s !== '' && s !== '.').join('/') + (key.endsWith('/') ? '/' : '');
  const own = projectStoragePrefix(actor.project.name);
  if (plain.startsWith(own)) return;
  if (PLATFORM_PREFIXES.some((p) => plain.startsWith(p)) || plain.startsWith('projects/'))
    throw refusal(what, `is the platform's own storage or another project's; use ${own} (or upload the file)`);
  if (actor.project.name !== DEFAULT_PROJECT) throw refusal(what, `must be under ${own} in project storage`);
}

const refusal = (what: string, why: string) => new AppError('FORBIDDEN', `${what} ${why}`);
