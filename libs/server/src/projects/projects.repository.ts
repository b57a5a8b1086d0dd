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

  // ---- quotas (projects/quotas.service.ts)

  /** Every project's requests/s quota that is set, for the predict path's in-memory view. */
  requestQuotas() {
    return this.db.client.project.findMany({
      where: { maxRequestsPerSecond: { not: null } },
      select: { id: true, maxRequestsPerSecond: true },
    });
  }
  quotas(id: string) {
    return this.db.client.project.findUnique({
      where: { id },
      select: { name: true, maxVersions: true, maxStoredBytes: true, maxConcurrentJobs: true },
    });
  }
  /**
   * The project's row locked until the transaction ends (call it inside one): whoever checks a quota against
   * a count and then adds to it holds this, so two concurrent additions at the limit minus one cannot both pass.
   */
  async lockQuotas(id: string) {
    const rows = await this.db.client.$queryRaw<
      { name: string; maxVersions: number | null; maxStoredBytes: bigint | null; maxConcurrentJobs: number | null }[]
    >`SELECT "name", "maxVersions", "maxStoredBytes", "maxConcurrentJobs" FROM "Project" WHERE "id" = ${id}::uuid FOR UPDATE`;
    return rows[0] ?? null;
  }
  versionCount(projectId: string) {
    return this.db.client.modelVersion.count({ where: { model: { projectId } } });
  }
  /**
   * Bytes the platform stores for the project: its uploaded (owned) artifacts, referenced ones being its own, and
   * its jobs' files (uploaded inputs, outputs and errors files).
   */
  async storedBytes(projectId: string): Promise<number> {
    const versions = await this.db.client.modelVersion.aggregate({
      where: { ownedArtifact: true, model: { projectId } },
      _sum: { sizeBytes: true },
    });
    const jobs = await this.db.client.job.aggregate({ where: { model: { projectId } }, _sum: { storedBytes: true } });
    return Number(versions._sum.sizeBytes ?? 0n) + Number(jobs._sum.storedBytes ?? 0n);
  }
  activeJobs(projectId: string) {
    return this.db.client.job.count({ where: { status: { in: ['queued', 'running'] }, model: { projectId } } });
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
