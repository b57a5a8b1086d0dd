import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma, Role } from '../db/generated/client.js';

const grantSubjects = {
  user: { select: { id: true, name: true } },
  group: { select: { id: true, name: true } },
} as const;

@Injectable()
export class ProjectsRepository {
  constructor(private readonly db: PrismaService) {}

  /** `ids`: only these (the projects a caller has a role in); undefined: every one. */
  list(ids?: string[]) {
    return this.db.client.project.findMany({ where: ids ? { id: { in: ids } } : {}, orderBy: { name: 'asc' } });
  }
  findByName(name: string) {
    return this.db.client.project.findUnique({ where: { name } });
  }
  create(data: Prisma.ProjectCreateInput) {
    return this.db.client.project.create({ data });
  }
  update(id: string, data: Prisma.ProjectUpdateInput) {
    return this.db.client.project.update({ where: { id }, data });
  }
  delete(id: string) {
    return this.db.client.project.delete({ where: { id } });
  }
  /** What keeps a project from being deleted: its models and service accounts (the rest goes with it). */
  async contents(id: string) {
    const [models, serviceAccounts] = await Promise.all([
      this.db.client.registeredModel.count({ where: { projectId: id } }),
      this.db.client.serviceAccount.count({ where: { projectId: id } }),
    ]);
    return { models, serviceAccounts };
  }

  grants(projectId: string) {
    return this.db.client.projectGrant.findMany({
      where: { projectId },
      include: grantSubjects,
      orderBy: { createdAt: 'asc' },
    });
  }
  setGrant(projectId: string, subject: { userId: string } | { groupId: string }, role: Role) {
    const where =
      'userId' in subject
        ? { projectId_userId: { projectId, userId: subject.userId } }
        : { projectId_groupId: { projectId, groupId: subject.groupId } };
    return this.db.client.projectGrant.upsert({
      where,
      create: { projectId, ...subject, role },
      update: { role },
      include: grantSubjects,
    });
  }
  removeGrant(projectId: string, subject: { userId: string } | { groupId: string }) {
    return this.db.client.projectGrant.deleteMany({ where: { projectId, ...subject } });
  }
  userName(id: string) {
    return this.db.client.user.findUnique({ where: { id }, select: { name: true } });
  }
  userByEmail(email: string) {
    return this.db.client.user.findUnique({ where: { email }, select: { id: true, name: true } });
  }
  groupName(id: string) {
    return this.db.client.group.findUnique({ where: { id }, select: { name: true } });
  }
}
