import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';

const owners = {
  user: { select: { id: true, name: true } },
  serviceAccount: { select: { id: true, name: true } },
} as const;

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly db: PrismaService) {}

  /** A project's keys (all of them, or one owner's). */
  list(projectId: string, filter: { userId?: string; serviceAccountId?: string } = {}) {
    return this.db.client.apiKey.findMany({
      where: { projectId, ...filter },
      include: owners,
      orderBy: { createdAt: 'desc' },
    });
  }
  findById(id: string) {
    return this.db.client.apiKey.findUnique({ where: { id }, include: owners });
  }
  findBySha(sha256: string) {
    return this.db.client.apiKey.findUnique({ where: { sha256 }, include: owners });
  }
  create(data: {
    projectId: string;
    name: string;
    prefix: string;
    sha256: string;
    scopes: string[];
    modelAllowList: string[];
    userId?: string;
    serviceAccountId?: string;
    expiresAt?: Date;
  }) {
    return this.db.client.apiKey.create({ data, include: owners });
  }
  revoke(id: string, at: Date) {
    return this.db.client.apiKey.update({ where: { id }, data: { revokedAt: at }, include: owners });
  }
  findServiceAccount(id: string) {
    return this.db.client.serviceAccount.findUnique({ where: { id } });
  }
  findUser(id: string) {
    return this.db.client.user.findUnique({ where: { id } });
  }
}
