import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Role } from '../db/generated/client.js';

@Injectable()
export class ServiceAccountsRepository {
  constructor(private readonly db: PrismaService) {}

  list() {
    return this.db.client.serviceAccount.findMany({ orderBy: { name: 'asc' } });
  }
  findById(id: string) {
    return this.db.client.serviceAccount.findUnique({ where: { id } });
  }
  findByName(name: string) {
    return this.db.client.serviceAccount.findUnique({ where: { name } });
  }
  create(data: { name: string; description: string; role: Role }) {
    return this.db.client.serviceAccount.create({ data });
  }
  update(id: string, data: { description?: string; role?: Role; disabled?: boolean }) {
    return this.db.client.serviceAccount.update({ where: { id }, data });
  }
}
