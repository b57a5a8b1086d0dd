import { roleRank, type Role } from '@modelyard/contracts';

/**
 * What the signed-in role may do in the registry, mirroring PERMISSIONS in libs/contracts. Used only to hide or
 * disable controls; the API checks every call itself and its refusal is what the user sees if this is wrong.
 */
export function registryAbilities(role: Role) {
  return {
    /** Register versions, aliases, stages other than Production (models.write). */
    canWrite: roleRank(role) >= roleRank('scientist'),
    /** Into or out of Production, approval decisions (models.promote). */
    canPromote: roleRank(role) >= roleRank('approver'),
  };
}
export type RegistryAbilities = ReturnType<typeof registryAbilities>;

/** What the signed-in role may do with jobs and schedules, mirroring PERMISSIONS (jobs.read / jobs.write). */
export function jobAbilities(role: Role) {
  return {
    /** Start, cancel and retry batch jobs; create, pause, run and delete schedules (jobs.write). */
    canWrite: roleRank(role) >= roleRank('scientist'),
  };
}
