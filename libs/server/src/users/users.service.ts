import { Injectable } from '@nestjs/common';
import type { TCreateUserRequest, TUpdateUserRequest, TUser } from '@modelyard/contracts';
import { UsersRepository } from './users.repository.js';
import { DomainEvents } from '../events/domain-events.js';
import { AuthService } from '../auth/auth.service.js';
import { hashPassword } from '../auth/crypto.js';
import { authorize, type Principal } from '../auth/principal.js';
import { defaultProjectGrant } from '../tenancy/project-roles.js';
import { decodeCursor, pageFrom } from '../platform/cursor.js';
import { AppError, conflict, notFound } from '../platform/errors.js';
import { isUniqueViolation } from '../db/errors.js';

type UserRow = { id: string; email: string; name: string; role: string; disabled: boolean; createdAt: Date };
export const toUserResponse = (u: UserRow): TUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role as TUser['role'],
  disabled: u.disabled,
  createdAt: u.createdAt.toISOString(),
});

@Injectable()
export class UsersService {
  constructor(
    private readonly repo: UsersRepository,
    private readonly events: DomainEvents,
    private readonly auth: AuthService,
  ) {}

  async list(actor: Principal, q: { limit?: number; cursor?: string }) {
    authorize(actor, 'users.read');
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 500);
    const rows = await this.repo.page(limit, decodeCursor(q.cursor));
    const page = pageFrom(rows, limit, (r) => ({ at: r.createdAt, id: r.id }));
    return { items: page.items.map(toUserResponse), nextCursor: page.nextCursor };
  }

  async create(actor: Principal, req: TCreateUserRequest): Promise<TUser> {
    authorize(actor, 'users.write');
    const user = await this.events
      .change(
        actor,
        () => this.createUnchecked(req),
        (u) => ({
          type: 'user.created',
          objectId: u.id,
          data: { email: u.email, role: u.role },
        }),
      )
      .catch((e: unknown) => {
        throw isUniqueViolation(e) ? conflict(`A user with email ${req.email} already exists`) : e;
      });
    return user;
  }

  /** For the first-start seed, which runs before anyone can be authorized. */
  async createUnchecked(req: TCreateUserRequest): Promise<TUser> {
    const user = await this.repo.create({
      email: req.email,
      name: req.name ?? req.email.split('@')[0]!,
      role: req.role,
      passwordHash: await hashPassword(req.password),
      grants: defaultProjectGrant(null, req.role),
    });
    return toUserResponse(user);
  }

  async update(actor: Principal, id: string, req: TUpdateUserRequest): Promise<TUser> {
    authorize(actor, 'users.write');
    const before = await this.repo.findById(id);
    if (!before) throw notFound('User');
    const losesAdmin =
      before.role === 'admin' && !before.disabled && ((req.role && req.role !== 'admin') || req.disabled === true);
    if (losesAdmin && (await this.repo.countActiveAdmins(id)) === 0) {
      throw conflict('This is the last active admin; make someone else admin first');
    }
    if (id === actor.id && req.disabled === true) throw new AppError('BAD_REQUEST', 'You cannot disable yourself');
    const endSessions =
      (req.role !== undefined && req.role !== before.role) || req.disabled === true || req.password !== undefined;
    const passwordHash = req.password ? await hashPassword(req.password) : undefined;
    const user = await this.events.change(
      actor,
      () =>
        this.repo.updateAndEndSessions(
          id,
          {
            name: req.name,
            role: req.role,
            disabled: req.disabled,
            passwordHash,
            ...(req.role ? { grants: defaultProjectGrant(id, req.role) } : {}),
          },
          endSessions,
        ),
      (u) => ({
        type: 'user.updated',
        objectId: id,
        data: {
          before: { role: before.role, disabled: before.disabled, name: before.name },
          after: { role: u.role, disabled: u.disabled, name: u.name },
          passwordChanged: req.password !== undefined,
        },
      }),
    );
    if (endSessions) await this.auth.invalidate();
    return toUserResponse(user);
  }
}
