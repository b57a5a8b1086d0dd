import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';

const roleGrants = { select: { projectId: true, role: true } } as const;
/** A user's groups with their project grants, and its own grants: what its role in a project is computed from. */
const memberships = { select: { group: { select: { id: true, name: true, grants: roleGrants } } } } as const;
const userWithGrants = { memberships, grants: roleGrants } as const;
const project = { select: { id: true, name: true } } as const;

/** Queries that turn a credential into the data a Principal is built from. */
@Injectable()
export class AuthRepository {
  constructor(private readonly db: PrismaService) {}

  findUserByEmail(email: string) {
    return this.db.client.user.findUnique({ where: { email }, include: userWithGrants });
  }

  createSession(data: {
    tokenHash: string;
    userId: string;
    expiresAt: Date;
    ip: string | null;
    userAgent: string | null;
    ssoRefreshSealed?: string | null;
    ssoClient?: string | null;
    ssoCheckAt?: Date | null;
  }) {
    return this.db.client.session.create({ data });
  }

  findSession(tokenHash: string) {
    return this.db.client.session.findUnique({ where: { tokenHash }, include: { user: { include: userWithGrants } } });
  }

  deleteSession(tokenHash: string) {
    return this.db.client.session.deleteMany({ where: { tokenHash } });
  }

  deleteExpiredSessions(before: Date) {
    return this.db.client.session.deleteMany({ where: { expiresAt: { lt: before } } });
  }

  findApiKeyBySha(sha256: string) {
    return this.db.client.apiKey.findUnique({
      where: { sha256 },
      include: {
        project,
        user: { include: userWithGrants },
        serviceAccount: { include: { memberships, project } },
      },
    });
  }

  findProject(name: string) {
    return this.db.client.project.findUnique({ where: { name }, select: { id: true, name: true } });
  }

  /** A user's grants on projects, its own and its groups'. */
  userGrants(userId: string) {
    return this.db.client.user.findUnique({ where: { id: userId }, select: userWithGrants });
  }

  /** The stored prefix of every key not revoked: tokens with another prefix are refused without a lookup. */
  async activeKeyPrefixes(): Promise<string[]> {
    const rows = await this.db.client.apiKey.findMany({
      where: { revokedAt: null },
      select: { prefix: true },
      distinct: ['prefix'],
    });
    return rows.map((r) => r.prefix);
  }

  touchApiKeys(ids: string[], at: Date) {
    return this.db.client.apiKey.updateMany({ where: { id: { in: ids } }, data: { lastUsedAt: at } });
  }
}
