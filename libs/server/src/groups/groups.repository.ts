import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';

const withMembers = {
  members: {
    include: { user: { select: { id: true, name: true } }, serviceAccount: { select: { id: true, name: true } } },
    orderBy: { createdAt: 'asc' },
  },
} as const;

@Injectable()
export class GroupsRepository {
  constructor(private readonly db: PrismaService) {}

  list() {
    return this.db.client.group.findMany({ include: withMembers, orderBy: { name: 'asc' } });
  }
  findById(id: string) {
    return this.db.client.group.findUnique({ where: { id }, include: withMembers });
  }
  create(name: string, description: string) {
    return this.db.client.group.create({ data: { name, description }, include: withMembers });
  }
  delete(id: string) {
    return this.db.client.group.deleteMany({ where: { id } });
  }
  addMember(groupId: string, member: { userId?: string; serviceAccountId?: string }) {
    return this.db.client.groupMember.create({ data: { groupId, ...member } });
  }
  removeMember(groupId: string, member: { userId?: string; serviceAccountId?: string }) {
    return this.db.client.groupMember.deleteMany({ where: { groupId, ...member } });
  }
  userExists(id: string) {
    return this.db.client.user.count({ where: { id } }).then((n) => n > 0);
  }
  serviceAccountExists(id: string) {
    return this.db.client.serviceAccount.count({ where: { id } }).then((n) => n > 0);
  }
}
