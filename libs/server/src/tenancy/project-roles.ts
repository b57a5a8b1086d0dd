import { roleRank, type Role } from '@modelyard/contracts';
import { DEFAULT_PROJECT_ID } from './model-key.js';

/** A role on a project, held directly or through a group. */
export interface RoleGrant {
  projectId: string;
  role: Role;
}

/** The highest role `grants` give on a project (a platform admin is admin everywhere); null: none. */
export function roleIn(projectId: string, grants: readonly RoleGrant[], platformAdmin: boolean): Role | null {
  if (platformAdmin) return 'admin';
  let best: Role | null = null;
  for (const g of grants) if (g.projectId === projectId && (!best || roleRank(g.role) > roleRank(best))) best = g.role;
  return best;
}

/** A user's grants, its own and its groups', as the auth queries load them. */
export function userGrants(u: {
  grants: { projectId: string; role: string }[];
  memberships: { group: { grants: { projectId: string; role: string }[] } }[];
}): RoleGrant[] {
  return [...u.grants, ...u.memberships.flatMap((m) => m.group.grants)] as RoleGrant[];
}

/**
 * Prisma's nested write that gives a user `role` in the default project: a user's role as the users API and
 * single sign-on set it is, as before projects, its role there (and `admin` also makes a platform admin).
 */
export function defaultProjectGrant(userId: string | null, role: Role) {
  if (userId === null) return { create: { projectId: DEFAULT_PROJECT_ID, role } };
  return {
    upsert: {
      where: { projectId_userId: { projectId: DEFAULT_PROJECT_ID, userId } },
      create: { projectId: DEFAULT_PROJECT_ID, role },
      update: { role },
    },
  };
}
