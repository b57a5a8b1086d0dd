import type { Principal } from './principal.js';

/** A signed-in user for unit specs: the viewer Ada on a dashboard session, unless `over` says otherwise. */
export const testPrincipal = (over: Partial<Principal> = {}): Principal => ({
  kind: 'user',
  id: 'u1',
  name: 'Ada',
  email: 'ada@example.com',
  role: 'viewer',
  groups: [],
  via: 'session',
  apiKeyId: null,
  scopes: null,
  modelAllowList: [],
  ip: null,
  ...over,
});
