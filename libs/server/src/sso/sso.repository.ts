import { Injectable } from '@nestjs/common';
import type { Role } from '@modelyard/contracts';
import { PrismaService } from '../db/prisma.service.js';
import { defaultProjectGrant } from '../tenancy/project-roles.js';

/** The rows single sign-on reads and writes: SSO users, IdP-managed groups and their members, SSO sessions. */
@Injectable()
export class SsoRepository {
  constructor(private readonly db: PrismaService) {}

  findUserBySubject(ssoSubject: string) {
    return this.db.client.user.findUnique({ where: { ssoSubject } });
  }

  findUserByEmail(email: string) {
    return this.db.client.user.findUnique({ where: { email } });
  }

  /** No password hash: an SSO user cannot log in with a password until an admin sets one. */
  createUser(data: { email: string; name: string; role: Role; ssoSubject: string }) {
    return this.db.client.user.create({
      data: { ...data, passwordHash: null, grants: defaultProjectGrant(null, data.role) },
    });
  }

  updateUser(id: string, data: { email?: string; name?: string; role?: Role }) {
    return this.db.client.user.update({
      where: { id },
      data: { ...data, ...(data.role ? { grants: defaultProjectGrant(id, data.role) } : {}) },
    });
  }

  /** IdP-managed groups by name; a name taken by a local group is not the IdP's and is left out. */
  async ensureIdpGroups(names: string[]) {
    if (names.length === 0) return { groups: [], created: [] as { id: string; name: string }[] };
    const before = await this.db.client.group.findMany({ where: { name: { in: names } } });
    const missing = names.filter((n) => !before.some((g) => g.name === n));
    await this.db.client.group.createMany({
      data: missing.map((name) => ({ name, idpManaged: true, description: 'Managed by single sign-on' })),
      skipDuplicates: true,
    });
    const all = await this.db.client.group.findMany({ where: { name: { in: names }, idpManaged: true } });
    return { groups: all, created: all.filter((g) => missing.includes(g.name)) };
  }

  idpMemberships(userId: string) {
    return this.db.client.groupMember.findMany({
      where: { userId, group: { idpManaged: true } },
      include: { group: { select: { id: true, name: true } } },
    });
  }

  addMembers(userId: string, groupIds: string[]) {
    return this.db.client.groupMember.createMany({
      data: groupIds.map((groupId) => ({ groupId, userId })),
      skipDuplicates: true,
    });
  }

  removeMembers(userId: string, groupIds: string[]) {
    return this.db.client.groupMember.deleteMany({ where: { userId, groupId: { in: groupIds } } });
  }

  markChecked(sessionId: string, data: { ssoRefreshSealed: string | null; ssoCheckAt: Date }) {
    return this.db.client.session.updateMany({ where: { id: sessionId }, data });
  }

  deleteSession(sessionId: string) {
    return this.db.client.session.deleteMany({ where: { id: sessionId } });
  }
}
