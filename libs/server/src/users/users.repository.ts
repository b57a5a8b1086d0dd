import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma, Role } from '../db/generated/client.js';

@Injectable()
export class UsersRepository {
  constructor(private readonly db: PrismaService) {}

  page(limit: number, before?: { at: Date; id: string }) {
    return this.db.client.user.findMany({
      where: before ? { OR: [{ createdAt: { lt: before.at } }, { createdAt: before.at, id: { lt: before.id } }] } : {},
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
  }
  findById(id: string) {
    return this.db.client.user.findUnique({ where: { id } });
  }
  findByEmail(email: string) {
    return this.db.client.user.findUnique({ where: { email } });
  }
  create(data: Prisma.UserCreateInput) {
    return this.db.client.user.create({ data });
  }
  countActiveAdmins(exceptId?: string) {
    return this.db.client.user.count({
      where: { role: 'admin' as Role, disabled: false, id: exceptId ? { not: exceptId } : undefined },
    });
  }
  /** Role or password changes end the user's sessions: a demoted admin must not keep admin cookies. */
  updateAndEndSessions(id: string, data: Prisma.UserUpdateInput, endSessions: boolean) {
    return this.db.transaction(async (tx) => {
      const user = await tx.user.update({ where: { id }, data });
      if (endSessions) await tx.session.deleteMany({ where: { userId: id } });
      return user;
    });
  }
}
