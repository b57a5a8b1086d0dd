import { Injectable } from '@nestjs/common';
import type { TCreateGroupRequest, TGroup, TMemberRef } from '@modelyard/contracts';
import { GroupsRepository } from './groups.repository.js';
import { DomainEvents } from '../events/domain-events.js';
import { AuthService } from '../auth/auth.service.js';
import { authorize, type Principal } from '../auth/principal.js';
import { conflict, notFound } from '../platform/errors.js';
import { isUniqueViolation } from '../db/errors.js';

type GroupRow = NonNullable<Awaited<ReturnType<GroupsRepository['findById']>>>;
export const toGroupResponse = (g: GroupRow): TGroup => ({
  id: g.id,
  name: g.name,
  description: g.description,
  idpManaged: g.idpManaged,
  createdAt: g.createdAt.toISOString(),
  members: g.members.map((m) =>
    m.user
      ? { kind: 'user' as const, id: m.user.id, name: m.user.name }
      : { kind: 'serviceAccount' as const, id: m.serviceAccount!.id, name: m.serviceAccount!.name },
  ),
});

const memberWhere = (m: TMemberRef) => (m.kind === 'user' ? { userId: m.id } : { serviceAccountId: m.id });

@Injectable()
export class GroupsService {
  constructor(
    private readonly repo: GroupsRepository,
    private readonly events: DomainEvents,
    private readonly auth: AuthService,
  ) {}

  async list(actor: Principal): Promise<TGroup[]> {
    authorize(actor, 'groups.read');
    return (await this.repo.list()).map(toGroupResponse);
  }

  async create(actor: Principal, req: TCreateGroupRequest): Promise<TGroup> {
    authorize(actor, 'groups.write');
    const g = await this.events
      .change(
        actor,
        () => this.repo.create(req.name, req.description),
        (g) => ({
          type: 'group.created',
          objectId: g.id,
          data: { name: g.name },
        }),
      )
      .catch((e: unknown) => {
        throw isUniqueViolation(e) ? conflict(`A group named ${req.name} already exists`) : e;
      });
    return toGroupResponse(g);
  }

  async delete(actor: Principal, id: string): Promise<void> {
    authorize(actor, 'groups.write');
    const g = await this.repo.findById(id);
    if (!g) throw notFound('Group');
    await this.events.change(
      actor,
      () => this.repo.delete(id),
      () => ({ type: 'group.deleted', objectId: id, data: { name: g.name } }),
    );
    await this.auth.invalidate();
  }

  async addMember(actor: Principal, id: string, member: TMemberRef): Promise<TGroup> {
    authorize(actor, 'groups.write');
    if (!(await this.repo.findById(id))) throw notFound('Group');
    const exists =
      member.kind === 'user' ? await this.repo.userExists(member.id) : await this.repo.serviceAccountExists(member.id);
    if (!exists) throw notFound(member.kind === 'user' ? 'User' : 'Service account');
    await this.events
      .change(
        actor,
        () => this.repo.addMember(id, memberWhere(member)),
        () => ({
          type: 'group.member_added',
          objectId: id,
          data: { member },
        }),
      )
      .catch((e: unknown) => {
        throw isUniqueViolation(e) ? conflict('Already a member of this group') : e;
      });
    await this.auth.invalidate();
    return toGroupResponse((await this.repo.findById(id))!);
  }

  async removeMember(actor: Principal, id: string, member: TMemberRef): Promise<TGroup> {
    authorize(actor, 'groups.write');
    if (!(await this.repo.findById(id))) throw notFound('Group');
    await this.events.change(
      actor,
      async () => {
        const { count } = await this.repo.removeMember(id, memberWhere(member));
        if (count === 0) throw notFound('Membership');
      },
      () => ({ type: 'group.member_removed', objectId: id, data: { member } }),
    );
    await this.auth.invalidate();
    return toGroupResponse((await this.repo.findById(id))!);
  }
}
