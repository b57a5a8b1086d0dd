import type { Principal } from '../auth/principal.js';
import { AppError } from '../platform/errors.js';

/** The project everything from before projects moved into (a fixed id: the projects migration inserts it). */
export const DEFAULT_PROJECT_ID = '00000000-0000-0000-0000-000000000001';
export const DEFAULT_PROJECT = 'default';

/** Which project a principal acts in. */
export interface ProjectRef {
  id: string;
  name: string;
}
export const DEFAULT_PROJECT_REF: ProjectRef = Object.freeze({ id: DEFAULT_PROJECT_ID, name: DEFAULT_PROJECT });

/**
 * A model's key, unique platform-wide: its name in the default project (so every URL and row from before
 * projects keeps meaning the same model), "<project>/<name>" in any other. Neither part may hold a "/", so a key
 * reads back unambiguously. Rollups, prediction logs, metrics labels, caches and Redis keys all key on it.
 */
export function modelKey(project: string, name: string): string {
  return project === DEFAULT_PROJECT ? name : `${project}/${name}`;
}

/** The name a model has in its project (what callers see and write in URLs). */
export function modelNameOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? key : key.slice(slash + 1);
}

/** The name of the project a model key belongs to. */
export function projectOfKey(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? DEFAULT_PROJECT : key.slice(0, slash);
}

/**
 * The key of the model a principal names: a name is always read in the principal's own project, so no name a
 * caller writes can reach another project's model. The system (no project) names models by their keys.
 */
export function keyFor(actor: Principal, name: string): string {
  return actor.project ? modelKey(actor.project.name, name) : name;
}

/** Whether the model of key `key` is in the principal's project (the system's is every project). */
export function inProject(actor: Principal, key: string): boolean {
  return !actor.project || projectOfKey(key) === actor.project.name;
}

/** The id of the project a principal acts in, for what belongs to one project (the system acts in none). */
export function projectIdOf(actor: Principal): string {
  if (!actor.project) throw new AppError('FORBIDDEN', 'This is done in a project');
  return actor.project.id;
}
