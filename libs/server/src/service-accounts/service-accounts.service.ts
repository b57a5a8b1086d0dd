import { Injectable } from '@nestjs/common';
import type { TCreateServiceAccountRequest, TServiceAccount, TUpdateServiceAccountRequest } from '@modelyard/contracts';
import { ServiceAccountsRepository } from './service-accounts.repository.js';
import { DomainEvents } from '../events/domain-events.js';
import { authorize, type Principal } from '../auth/principal.js';
import { DEFAULT_PROJECT_ID, projectIdOf } from '../tenancy/model-key.js';
import { conflict, notFound } from '../platform/errors.js';
import { AuthService } from '../auth/auth.service.js';
import { isUniqueViolation } from '../db/errors.js';

type Row = { id: string; name: string; description: string; role: string; disabled: boolean; createdAt: Date };
export const toServiceAccountResponse = (s: Row): TServiceAccount => ({
  id: s.id,
  name: s.name,
  description: s.description,
  role: s.role as TServiceAccount['role'],
  disabled: s.disabled,
  createdAt: s.createdAt.toISOString(),
});

@Injectable()
export class ServiceAccountsService {
  constructor(
    private readonly repo: ServiceAccountsRepository,
    private readonly events: DomainEvents,
    private readonly auth: AuthService,
  ) {}

  async list(actor: Principal): Promise<TServiceAccount[]> {
    authorize(actor, 'serviceAccounts.read');
    return (await this.repo.list(projectIdOf(actor))).map(toServiceAccountResponse);
  }

  async create(actor: Principal, req: TCreateServiceAccountRequest): Promise<TServiceAccount> {
    authorize(actor, 'serviceAccounts.write');
    const sa = await this.events
      .change(
        actor,
        () => this.createUnchecked(req, projectIdOf(actor)),
        (sa) => ({
          type: 'serviceAccount.created',
          objectId: sa.id,
          data: { name: sa.name, role: sa.role },
        }),
      )
      .catch((e: unknown) => {
        throw isUniqueViolation(e) ? conflict(`A service account named ${req.name} already exists`) : e;
      });
    return sa;
  }

  /**
   * Role, description, disabled. A new role or a disable takes effect on the account's keys at once: every api
   * process drops its cached keys (a key's scopes never grant more than its owner's role allows).
   */
  async update(actor: Principal, id: string, req: TUpdateServiceAccountRequest): Promise<TServiceAccount> {
    authorize(actor, 'serviceAccounts.write');
    const before = /^[0-9a-f-]{36}$/i.test(id) ? await this.repo.findById(id, projectIdOf(actor)) : null;
    if (!before) throw notFound('Service account');
    const sa = await this.events.change(
      actor,
      () => this.repo.update(id, { description: req.description, role: req.role, disabled: req.disabled }),
      (sa) => ({
        type: 'serviceAccount.updated',
        objectId: id,
        data: {
          name: sa.name,
          before: { role: before.role, disabled: before.disabled },
          after: { role: sa.role, disabled: sa.disabled },
        },
      }),
    );
    if ((req.role !== undefined && req.role !== before.role) || req.disabled !== undefined)
      await this.auth.invalidate();
    return toServiceAccountResponse(sa);
  }

  /** A service account of a project (the first-start seed's is the default project's). */
  async createUnchecked(req: TCreateServiceAccountRequest, projectId = DEFAULT_PROJECT_ID): Promise<TServiceAccount> {
    return toServiceAccountResponse(await this.repo.create({ ...req, projectId }));
  }

  /** Names are unique per project: the same name may be another account in another project. */
  async findByName(name: string, projectId = DEFAULT_PROJECT_ID): Promise<TServiceAccount | null> {
    const s = await this.repo.findByName(name, projectId);
    return s ? toServiceAccountResponse(s) : null;
  }
}
