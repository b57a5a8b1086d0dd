import { z } from 'zod';

/** Ordered: each role can do everything the roles before it can. */
export const ROLES = ['viewer', 'scientist', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const ZRole = z.enum(ROLES);

/**
 * `predict:any-version`: call a version by number although it is in no stage and behind no alias or deployment
 * (archived, just registered): such a call loads that version into every api process that receives it.
 */
export const SCOPES = [
  'predict',
  'models:read',
  'models:write',
  'models:promote',
  'jobs',
  'admin',
  'predict:callback',
  'predict:any-version',
] as const;
export type Scope = (typeof SCOPES)[number];
export const ZScope = z.enum(SCOPES);

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

/** The scopes a key may carry given its owner's role: a key never grants more than its owner has. */
export const SCOPES_BY_ROLE: Record<Role, readonly Scope[]> = {
  viewer: ['predict', 'models:read'],
  // predict:callback makes the worker send HTTP requests where the caller says: not for viewers.
  scientist: ['predict', 'models:read', 'models:write', 'jobs', 'predict:callback', 'predict:any-version'],
  approver: [
    'predict',
    'models:read',
    'models:write',
    'models:promote',
    'jobs',
    'predict:callback',
    'predict:any-version',
  ],
  admin: SCOPES,
};

/**
 * Every guarded action: the least role it needs, the key scopes that grant it (any one of them), and where the
 * role is held. `project` actions need that role in the project the caller acts in (the URL's, the key's, else
 * `default`); `platform` actions are about the platform itself (users, directory groups, projects): `admin` there
 * means a platform admin, `viewer` any signed-in caller. `scopes: []` means any valid key is enough (e.g. reading
 * your own identity). Dashboard sessions are limited by role only. Services check these; controllers declare them
 * for the guard and the authz matrix test.
 */
const platform = (role: Role, scopes: readonly Scope[]) => ({ role, scopes, level: 'platform' as const });
const project = (role: Role, scopes: readonly Scope[]) => ({ role, scopes, level: 'project' as const });
export const PERMISSIONS = {
  'me.read': platform('viewer', []),
  /** A caller's own keys, in the project it acts in. */
  'apiKeys.own': project('viewer', ['admin']),
  'users.read': platform('admin', ['admin']),
  'users.write': platform('admin', ['admin']),
  'groups.read': platform('viewer', ['admin', 'models:read']),
  'groups.write': platform('admin', ['admin']),
  /** The projects a caller has a role in (a platform admin: every one). */
  'projects.read': platform('viewer', []),
  /** Create and delete projects, set their quotas. */
  'projects.write': platform('admin', ['admin']),
  /** Who has which role on a project: that project's admins manage it. */
  'projects.grants': project('admin', ['admin']),
  'serviceAccounts.read': project('admin', ['admin']),
  'serviceAccounts.write': project('admin', ['admin']),
  'apiKeys.manage': project('admin', ['admin']),
  'audit.read': project('admin', ['admin']),
  'models.read': project('viewer', ['models:read']),
  /** Call a model (any request format). Model allow-lists of keys apply. */
  predict: project('viewer', ['predict']),
  /**
   * `X-Callback-Url` on an async prediction, on top of `predict`: the worker then POSTs to a URL the caller
   * chose (outbound rules apply), so it is a scope of its own, from scientist up.
   */
  'predict.callback': project('scientist', ['predict:callback']),
  /**
   * On top of `predict`: call a version by number that is in no stage (Staging, Production) and that no alias,
   * pilot or silent deployment names. Checked by the engine, not declared by a route.
   */
  'predict.anyVersion': project('scientist', ['predict:any-version', 'admin']),
  /** Serving status of a model or version (TF Serving / KServe v1 share the registry's URLs): predict keys poll it too. */
  'models.status': project('viewer', ['models:read', 'predict']),
  /** Prometheus scraping and the metrics API: operational data, not model internals. */
  'metrics.read': project('viewer', ['models:read', 'admin']),
  /** Create models, register versions, edit metadata, aliases, stages other than Production. */
  'models.write': project('scientist', ['models:write']),
  /** Production, and aliases that serve traffic: transitions into or out of it, and approval decisions. */
  'models.promote': project('approver', ['models:promote']),
  /** Jobs: list and read them. Predict keys may read (only) the async predictions they queued. */
  'jobs.read': project('viewer', ['jobs', 'predict']),
  /** Batch scoring jobs and schedules: create, cancel, retry, pause, delete. */
  'jobs.write': project('scientist', ['jobs']),
  /** Drift windows, reports, profiles, alert rules and alerts: model internals, so read like the registry. */
  'drift.read': project('viewer', ['models:read']),
  /** Alert rules, ad hoc drift reports (they read a dataset from storage) and profile rebuilds. */
  'drift.write': project('scientist', ['models:write']),
  'webhooks.read': project('admin', ['admin']),
  'webhooks.write': project('admin', ['admin']),
  /**
   * Ground truth (issue 18): labels for a model's predictions. The application that predicts is the one that later
   * learns the truth, so its predict key may send them; model allow-lists apply.
   */
  'feedback.write': project('viewer', ['predict', 'models:write']),
  /** Model quality from labelled predictions and pilot comparisons: read like drift. */
  'performance.read': project('viewer', ['models:read']),
} as const satisfies Record<string, { role: Role; scopes: readonly Scope[]; level: 'platform' | 'project' }>;
export type Permission = keyof typeof PERMISSIONS;

export const ZEmail = z.string().trim().toLowerCase().pipe(z.email()).pipe(z.string().max(254));
export const ZPassword = z.string().min(10, 'at least 10 characters').max(256);
export const ZName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, ".", "_" and "-" only, starting with a letter or digit');

export const ZLoginRequest = z.object({ email: ZEmail, password: z.string().min(1).max(256) });
export type TLoginRequest = z.infer<typeof ZLoginRequest>;

export const ZPrincipalKind = z.enum(['user', 'serviceAccount']);
export type PrincipalKind = z.infer<typeof ZPrincipalKind>;
export const ZMeResponse = z.object({
  kind: ZPrincipalKind,
  id: z.string(),
  name: z.string(),
  email: z.string().nullable(),
  /** The project the request acted in, and the caller's role there (null: none). */
  project: z.object({ id: z.string(), name: z.string() }).nullable(),
  role: ZRole.nullable(),
  platformAdmin: z.boolean(),
  groups: z.array(z.object({ id: z.string(), name: z.string() })),
  /** null for a dashboard session (role decides); the key's scopes for an API key. */
  scopes: z.array(ZScope).nullable(),
  apiKeyId: z.string().nullable(),
});
export type TMeResponse = z.infer<typeof ZMeResponse>;

export const ZUser = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: ZRole,
  disabled: z.boolean(),
  createdAt: z.string(),
});
export type TUser = z.infer<typeof ZUser>;
export const ZCreateUserRequest = z.object({
  email: ZEmail,
  name: z.string().trim().min(1).max(128).optional(),
  password: ZPassword,
  role: ZRole.default('viewer'),
});
export type TCreateUserRequest = z.infer<typeof ZCreateUserRequest>;
export const ZUpdateUserRequest = z
  .object({ name: z.string().trim().min(1).max(128), role: ZRole, disabled: z.boolean(), password: ZPassword })
  .partial();
export type TUpdateUserRequest = z.infer<typeof ZUpdateUserRequest>;

export const ZServiceAccount = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  role: ZRole,
  disabled: z.boolean(),
  createdAt: z.string(),
});
export type TServiceAccount = z.infer<typeof ZServiceAccount>;
export const ZCreateServiceAccountRequest = z.object({
  name: ZName,
  description: z.string().max(500).default(''),
  role: ZRole.default('viewer'),
});
export type TCreateServiceAccountRequest = z.infer<typeof ZCreateServiceAccountRequest>;
export const ZUpdateServiceAccountRequest = z
  .object({ description: z.string().max(500), role: ZRole, disabled: z.boolean() })
  .partial();
export type TUpdateServiceAccountRequest = z.infer<typeof ZUpdateServiceAccountRequest>;

export const ZMemberRef = z.object({ kind: ZPrincipalKind, id: z.uuid() });
export type TMemberRef = z.infer<typeof ZMemberRef>;
export const ZGroup = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  members: z.array(z.object({ kind: ZPrincipalKind, id: z.string(), name: z.string() })),
  /** Created from an IdP group claim: its user members follow the IdP at each sign-in and session re-check. */
  idpManaged: z.boolean(),
  createdAt: z.string(),
});
export type TGroup = z.infer<typeof ZGroup>;
export const ZCreateGroupRequest = z.object({ name: ZName, description: z.string().max(500).default('') });
export type TCreateGroupRequest = z.infer<typeof ZCreateGroupRequest>;

export const ZApiKey = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(ZScope),
  modelAllowList: z.array(z.string()),
  owner: z.object({ kind: ZPrincipalKind, id: z.string(), name: z.string() }),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  createdAt: z.string(),
});
export type TApiKey = z.infer<typeof ZApiKey>;
export const ZCreateApiKeyRequest = z.object({
  name: z.string().trim().min(1).max(64),
  scopes: z.array(ZScope).min(1).max(SCOPES.length),
  modelAllowList: z.array(z.string().trim().min(1).max(128)).max(200).default([]),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  /** Admins may mint keys for a service account; everyone else gets keys for themselves. */
  serviceAccountId: z.uuid().optional(),
});
export type TCreateApiKeyRequest = z.infer<typeof ZCreateApiKeyRequest>;
/** The only response that ever carries the secret: shown once, stored as SHA-256. */
export const ZCreatedApiKey = z.object({ apiKey: ZApiKey, secret: z.string() });
export type TCreatedApiKey = z.infer<typeof ZCreatedApiKey>;

export const ZAuditEntry = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.object({ kind: z.string(), id: z.string().nullable(), name: z.string().nullable() }),
  apiKeyId: z.string().nullable(),
  ip: z.string().nullable(),
  action: z.string(),
  objectType: z.string(),
  objectId: z.string().nullable(),
  /** The project it happened in; null for platform actions (users, groups, projects). */
  project: z.string().nullable(),
  summary: z.unknown(),
});
export type TAuditEntry = z.infer<typeof ZAuditEntry>;
export const ZAuditQuery = z.object({
  actorId: z.string().optional(),
  action: z.string().max(64).optional(),
  objectType: z.string().max(64).optional(),
  objectId: z.string().max(128).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(), // an encoded {at, id} pair, as long as the jobs and models cursors
});
export type TAuditQuery = z.infer<typeof ZAuditQuery>;

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
export const ZUserList = pageOf(ZUser);
export const ZAuditPage = pageOf(ZAuditEntry);

// --- single sign-on (issue 17) ---
/** What the login page and the CLI need to know to offer single sign-on (public). */
export const ZSsoInfo = z.object({
  enabled: z.boolean(),
  /** The button's label: "Sign in with <providerName>". */
  providerName: z.string().nullable(),
  /** The IdP's issuer, where the CLI runs the device authorization grant. */
  issuer: z.string().nullable(),
  cliClientId: z.string().nullable(),
  scopes: z.string().nullable(),
});
export type TSsoInfo = z.infer<typeof ZSsoInfo>;

/** The CLI trades the ID token its device flow got from the IdP (and the refresh token, for re-checks). */
export const ZSsoExchangeRequest = z.object({
  idToken: z.string().min(1).max(16_384),
  refreshToken: z.string().min(1).max(16_384).optional(),
});
export type TSsoExchangeRequest = z.infer<typeof ZSsoExchangeRequest>;

export const ZSsoSession = z.object({
  /** The session token: send it as the `modelyard_session` cookie. Shown once. */
  sessionToken: z.string(),
  expiresAt: z.string(),
  me: ZMeResponse,
});
export type TSsoSession = z.infer<typeof ZSsoSession>;
