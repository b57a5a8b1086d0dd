import { PERMISSIONS, roleRank, type Permission, type Role, type Scope } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';
import { modelNameOf, type ProjectRef } from '../tenancy/model-key.js';

/**
 * Who is acting. Built once per request (from a session cookie or an API key) or by the worker for jobs,
 * and passed to every service method, whose first statement authorizes it.
 */
export interface Principal {
  kind: 'user' | 'serviceAccount' | 'system';
  id: string;
  name: string;
  email: string | null;
  /**
   * The project this principal acts in: the one its URL names (`/v1/projects/{p}/...`, `/projects/{p}/...`), else
   * its API key's, else `default`. Every name it writes is read there. null: the system, in every project.
   */
  project: ProjectRef | null;
  /** Its role in `project`; null when it has none there (every project-level action is refused). */
  role: Role | null;
  /** Manages projects and users, and is admin in every project. */
  platformAdmin: boolean;
  groups: { id: string; name: string }[];
  via: 'session' | 'apiKey' | 'system';
  apiKeyId: string | null;
  /** null: not limited by scopes (dashboard sessions, the system itself). */
  scopes: Scope[] | null;
  /** Empty: every model. */
  modelAllowList: string[];
  ip: string | null;
}

export const SYSTEM: Principal = Object.freeze({
  kind: 'system',
  id: '00000000-0000-0000-0000-000000000000',
  name: 'system',
  email: null,
  project: null,
  role: 'admin',
  platformAdmin: true,
  groups: [],
  via: 'system',
  apiKeyId: null,
  scopes: null,
  modelAllowList: [],
  ip: null,
}) as Principal;

export function can(p: Principal, permission: Permission): boolean {
  const rule = PERMISSIONS[permission];
  if (!hasRole(p, rule)) return false;
  if (p.scopes === null || rule.scopes.length === 0) return true;
  return rule.scopes.some((s) => p.scopes!.includes(s));
}

function hasRole(p: Principal, rule: { role: Role; level: 'platform' | 'project' }): boolean {
  if (rule.level === 'platform') return rule.role !== 'admin' || p.platformAdmin;
  return p.role !== null && roleRank(p.role) >= roleRank(rule.role);
}

export function authorize(p: Principal, permission: Permission): void {
  if (can(p, permission)) return;
  const rule = PERMISSIONS[permission];
  if (!hasRole(p, rule)) {
    if (rule.level === 'platform') throw new AppError('FORBIDDEN', 'This needs a platform admin');
    const where = p.project ? ` in project ${p.project.name}` : '';
    const have = p.role ? `you are ${p.role}` : 'you have no role there';
    throw new AppError('FORBIDDEN', `This needs the ${rule.role} role${where}; ${have}`);
  }
  throw new AppError('FORBIDDEN', `This API key lacks a scope for this: one of ${rule.scopes.join(', ')}`);
}

/**
 * For model-scoped actions: an API key with an allow-list may only touch the models on it (names in the key's
 * project; `modelKey` is the model's key, see projects/model-key.ts).
 */
export function authorizeModel(p: Principal, modelKey: string): void {
  if (!p.modelAllowList.length) return;
  const name = modelNameOf(modelKey);
  if (!p.modelAllowList.includes(name)) {
    throw new AppError('FORBIDDEN', `This API key is not allowed to use model "${name}"`);
  }
}

/** The system acting in one project (what belongs to a project is created in one). */
export function systemIn(project: ProjectRef): Principal {
  return Object.freeze({ ...SYSTEM, project }) as Principal;
}
