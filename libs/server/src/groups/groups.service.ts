import { Injectable } from '@nestjs/common';
import type { TCreateGroupRequest, TGroup, TMemberRef } from '@modelyard/contracts';
import { GroupsRepository } from './groups.repository.js';
import { AuditService } from '../audit/audit.service.js';
import { AuthService } from '../auth/auth.service.js';
import { authorize, type Principal } from '../auth/principal.js';
import { conflict, notFound } from '../platform/errors.js';
import { isUniqueViolation } from '../db/errors.js';

type GroupRow = NonNullable<Awaited<ReturnType<GroupsRepository['findById']>>>;
export const toGroupResponse = (g: GroupRow): TGroup => ({
  id: g.id, name: g.name, description: g.description, createdAt: g.createdAt.toISOString(),
  members: g.members.map((m) => m.user
    ? { kind: 'user' as const, id: m.user.id, name: m.user.name }
    : { kind: 'serviceAccount' as const, id: m.serviceAccount!.id, name: m.serviceAccount!.name }),
});

const memberWhere = (m: TMemberRef) => (m.kind === 'user' ? { userId: m.id } : { serviceAccountId: m.id });

@Injectable()
export class GroupsService {
  constructor(
    private readonly repo: GroupsRepository,
    private readonly audit: AuditService,
    private readonly auth: AuthService,
  ) {}

  async list(actor: Principal): Promise<TGroup[]> {
    authorize(actor, 'groups.read');
    return (await this.repo.list()).map(toGroupResponse);
  }

  async create(actor: Principal, req: TCreateGroupRequest): Promise<TGroup> {
    authorize(actor, 'groups.write');
    const g = await this.repo.create(req.name, req.description).catch((e: unknown) => {
      throw isUniqueViolation(e) ? conflict(`A group named ${req.name} already exists`) : e;
    });
    await this.audit.record(actor, { action: 'group.created', objectType: 'group', objectId: g.id, summary: { name: g.name } });
    return toGroupResponse(g);
  }

  async delete(actor: Principal, id: string): Promise<void> {
    authorize(actor, 'groups.write');
    const g = await this.repo.findById(id);
    if (!g) throw notFound('Group');
    await this.repo.delete(id);
    await this.auth.invalidate();
    await this.audit.record(actor, { action: 'group.deleted', objectType: 'group', objectId: id, summary: { name: g.name } });
  }

  async addMember(actor: Principal, id: string, member: TMemberRef): Promise<TGroup> {
    authorize(actor, 'groups.write');
    if (!(await this.repo.findById(id))) throw notFound('Group');
    const exists = member.kind === 'user' ? await this.repo.userExists(member.id) : await this.repo.serviceAccountExists(member.id);
    if (!exists) throw notFound(member.kind === 'user' ? 'User' : 'Service account');
    await this.repo.addMember(id, memberWhere(member)).catch((e: unknown) => {
      throw isUniqueViolation(e) ? conflict('Already a member of this group') : e;
    });
    await this.auth.invalidate();
    await this.audit.record(actor, { action: 'group.member_added', objectType: 'group', objectId: id, summary: { member } });
    return toGroupResponse((await this.repo.findById(id))!);
  }

  async removeMember(actor: Principal, id: string, member: TMemberRef): Promise<TGroup> {
    authorize(actor, 'groups.write');
    if (!(await this.repo.findById(id))) throw notFound('Group');
    const { count } = await this.repo.removeMember(id, memberWhere(member));
    if (count === 0) throw notFound('Membership');
    await this.auth.invalidate();
    await this.audit.record(actor, { action: 'group.member_removed', objectType: 'group', objectId: id, summary: { member } });
    return toGroupResponse((await this.repo.findById(id))!);
  }
}
