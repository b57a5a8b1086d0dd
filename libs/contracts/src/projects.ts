import { z } from 'zod';
import { ZEmail, ZRole } from './auth.js';

/**
 * A project's name: its URL segment (`/v1/projects/{name}/...`), its models' key prefix and its storage prefix,
 * so it is a plain slug that never changes.
 */
export const ZProjectName = z
  .string()
  .trim()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-", starting with a letter or digit');

/** Optional limits a platform admin sets on a project; null: none. */
export const ZProjectQuotas = z.object({
  maxVersions: z.int().min(0).max(1_000_000).nullable().default(null),
  maxStoredBytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().default(null),
  maxRequestsPerSecond: z.int().min(1).max(1_000_000).nullable().default(null),
  maxConcurrentJobs: z.int().min(1).max(100_000).nullable().default(null),
});
export type TProjectQuotas = z.infer<typeof ZProjectQuotas>;

/** What a project uses of what its quotas limit (GET /v1/projects/{p}; lists leave it out). */
export const ZProjectUsage = z.object({
  /** Model versions registered in the project. */
  versions: z.int(),
  /** Bytes of the artifacts the platform stores for it (uploads; artifacts registered by URI are the project's). */
  storedBytes: z.int(),
  /** Its jobs (async predictions and batch jobs) queued or running. */
  concurrentJobs: z.int(),
});
export type TProjectUsage = z.infer<typeof ZProjectUsage>;

export const ZProject = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  /** The caller's role in it (a platform admin is admin everywhere). */
  role: ZRole.nullable(),
  quotas: ZProjectQuotas,
  usage: ZProjectUsage.optional(),
  createdAt: z.string(),
});
export type TProject = z.infer<typeof ZProject>;

export const ZCreateProjectRequest = z.object({
  name: ZProjectName,
  description: z.string().max(2000).default(''),
  quotas: ZProjectQuotas.partial().optional(),
});
export type TCreateProjectRequest = z.infer<typeof ZCreateProjectRequest>;

export const ZUpdateProjectRequest = z.object({
  description: z.string().max(2000).optional(),
  quotas: ZProjectQuotas.partial().optional(),
});
export type TUpdateProjectRequest = z.infer<typeof ZUpdateProjectRequest>;

/** A role on a project for a user or a (directory) group. */
export const ZGrantSubjectKind = z.enum(['user', 'group']);
export const ZProjectGrant = z.object({
  kind: ZGrantSubjectKind,
  id: z.string(),
  name: z.string(),
  role: ZRole,
});
export type TProjectGrant = z.infer<typeof ZProjectGrant>;
/**
 * The subject by id, or a user by e-mail: a project's admins need not be platform admins, who alone list users,
 * so they name the colleague they add by address (the dashboard's settings page does).
 */
export const ZPutGrantRequest = z
  .object({ kind: ZGrantSubjectKind, id: z.uuid().optional(), email: ZEmail.optional(), role: ZRole })
  .refine((g) => (g.id === undefined) !== (g.email === undefined), {
    message: 'give either the id or, for a user, the email',
    path: ['id'],
  })
  .refine((g) => g.email === undefined || g.kind === 'user', { message: 'only a user has an email', path: ['email'] });
export type TPutGrantRequest = z.infer<typeof ZPutGrantRequest>;
