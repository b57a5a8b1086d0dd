import type { Principal } from './principal.js';
import { DEFAULT_PROJECT_REF } from '../tenancy/model-key.js';

/**
 * A signed-in user for unit specs: the viewer Ada on a dashboard session in the default project, unless `over`
 * says otherwise (an admin is a platform admin unless `over` says otherwise).
 */
export const testPrincipal = (over: Partial<Principal> = {}): Principal => ({
  kind: 'user',
  id: 'u1',
  name: 'Ada',
  email: 'ada@example.com',
  project: DEFAULT_PROJECT_REF,
  role: 'viewer',
  platformAdmin: over.role === 'admin',
  groups: [],
  via: 'session',
  apiKeyId: null,
  scopes: null,
  modelAllowList: [],
  ip: null,
  ...over,
});
