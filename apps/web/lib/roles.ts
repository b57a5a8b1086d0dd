import { roleRank, type Role } from '@modelyard/contracts';

/** The caller's rank in the project it acts in; below every role when it has none there. */
const rank = (role: Role | null) => (role === null ? -1 : roleRank(role));

/**
 * What the signed-in role may do in the registry, mirroring PERMISSIONS in libs/contracts. Used only to hide or
 * disable controls; the API checks every call itself and its refusal is what the user sees if this is wrong.
 */
export function registryAbilities(role: Role | null) {
  return {
    /** Register versions, aliases, stages other than Production (models.write). */
    canWrite: rank(role) >= roleRank('scientist'),
    /** Into or out of Production, approval decisions (models.promote). */
    canPromote: rank(role) >= roleRank('approver'),
  };
}
export type RegistryAbilities = ReturnType<typeof registryAbilities>;

/** What the signed-in role may do with jobs and schedules, mirroring PERMISSIONS (jobs.read / jobs.write). */
export function jobAbilities(role: Role | null) {
  return {
    /** Start, cancel and retry batch jobs; create, pause, run and delete schedules (jobs.write). */
    canWrite: rank(role) >= roleRank('scientist'),
  };
}

/** What the signed-in role may do on the drift page, mirroring PERMISSIONS (drift.read / drift.write). */
export function driftAbilities(role: Role | null) {
  return {
    /** Alert rules and reference-profile rebuilds (drift.write). */
    canWrite: rank(role) >= roleRank('scientist'),
  };
}

/**
 * What the signed-in user may do with projects, mirroring PERMISSIONS (projects.grants is a project role,
 * projects.write a platform one).
 */
export function projectAbilities(role: Role | null, platformAdmin: boolean) {
  return {
    /** See and change who has which role in the project, and its description (projects.grants). */
    canManage: rank(role) >= roleRank('admin'),
    /** Create and delete projects and set their quotas (projects.write: platform admins only). */
    canAdminister: platformAdmin,
  };
}
