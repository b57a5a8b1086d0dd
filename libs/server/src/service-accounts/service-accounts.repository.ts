import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Role } from '../db/generated/client.js';

@Injectable()
export class ServiceAccountsRepository {
  constructor(private readonly db: PrismaService) {}

  list(projectId: string) {
    return this.db.client.serviceAccount.findMany({ where: { projectId }, orderBy: { name: 'asc' } });
  }
  /** A project's service account by id (another project's is not found). */
  findById(id: string, projectId: string) {
    return this.db.client.serviceAccount.findFirst({ where: { id, projectId } });
  }
  findByName(name: string, projectId: string) {
    return this.db.client.serviceAccount.findUnique({ where: { projectId_name: { projectId, name } } });
  }
  create(data: { projectId: string; name: string; description: string; role: Role }) {
    return this.db.client.serviceAccount.create({ data });
  }
  update(id: string, data: { description?: string; role?: Role; disabled?: boolean }) {
    return this.db.client.serviceAccount.update({ where: { id }, data });
  }
}
