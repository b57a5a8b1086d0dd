import { Injectable } from '@nestjs/common';
import type { TCreateServiceAccountRequest, TServiceAccount } from '@modelyard/contracts';
import { ServiceAccountsRepository } from './service-accounts.repository.js';
import { AuditService } from '../audit/audit.service.js';
import { authorize, type Principal } from '../auth/principal.js';
import { conflict } from '../platform/errors.js';
import { isUniqueViolation } from '../db/errors.js';

type Row = { id: string; name: string; description: string; role: string; disabled: boolean; createdAt: Date };
export const toServiceAccountResponse = (s: Row): TServiceAccount => ({
  id: s.id, name: s.name, description: s.description, role: s.role as TServiceAccount['role'],
  disabled: s.disabled, createdAt: s.createdAt.toISOString(),
});

@Injectable()
export class ServiceAccountsService {
  constructor(private readonly repo: ServiceAccountsRepository, private readonly audit: AuditService) {}

  async list(actor: Principal): Promise<TServiceAccount[]> {
    authorize(actor, 'serviceAccounts.read');
    return (await this.repo.list()).map(toServiceAccountResponse);
  }

  async create(actor: Principal, req: TCreateServiceAccountRequest): Promise<TServiceAccount> {
    authorize(actor, 'serviceAccounts.write');
    const sa = await this.createUnchecked(req).catch((e: unknown) => {
      throw isUniqueViolation(e) ? conflict(`A service account named ${req.name} already exists`) : e;
    });
    await this.audit.record(actor, { action: 'serviceAccount.created', objectType: 'serviceAccount', objectId: sa.id, summary: { name: sa.name, role: sa.role } });
    return sa;
  }

  async createUnchecked(req: TCreateServiceAccountRequest): Promise<TServiceAccount> {
    return toServiceAccountResponse(await this.repo.create(req));
  }

  async findByName(name: string): Promise<TServiceAccount | null> {
    const s = await this.repo.findByName(name);
    return s ? toServiceAccountResponse(s) : null;
  }
}
