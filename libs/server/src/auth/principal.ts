import { PERMISSIONS, roleRank, type Permission, type Role, type Scope } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';

/**
 * Who is acting. Built once per request (from a session cookie or an API key) or by the worker for jobs,
 * and passed to every service method, whose first statement authorizes it.
 */
export interface Principal {
  kind: 'user' | 'serviceAccount' | 'system';
  id: string;
  name: string;
  email: string | null;
  role: Role;
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
  role: 'admin',
  groups: [],
  via: 'system',
  apiKeyId: null,
  scopes: null,
  modelAllowList: [],
  ip: null,
}) as Principal;

export function can(p: Principal, permission: Permission): boolean {
  const rule = PERMISSIONS[permission];
  if (roleRank(p.role) < roleRank(rule.role)) return false;
  if (p.scopes === null || rule.scopes.length === 0) return true;
  return rule.scopes.some((s) => p.scopes!.includes(s));
}

export function authorize(p: Principal, permission: Permission): void {
  if (can(p, permission)) return;
  const rule = PERMISSIONS[permission];
  if (roleRank(p.role) < roleRank(rule.role)) {
    throw new AppError('FORBIDDEN', `This needs the ${rule.role} role; you are ${p.role}`);
  }
  throw new AppError('FORBIDDEN', `This API key lacks a scope for this: one of ${rule.scopes.join(', ')}`);
}

/** For model-scoped actions: an API key with an allow-list may only touch the models on it. */
export function authorizeModel(p: Principal, modelName: string): void {
  if (p.modelAllowList.length && !p.modelAllowList.includes(modelName)) {
    throw new AppError('FORBIDDEN', `This API key is not allowed to use model "${modelName}"`);
  }
}
