import { Injectable } from '@nestjs/common';
import {
  SCOPES_BY_ROLE,
  type Role,
  type Scope,
  type TApiKey,
  type TCreateApiKeyRequest,
  type TCreatedApiKey,
} from '@modelyard/contracts';
import { ApiKeysRepository } from './api-keys.repository.js';
import { DomainEvents } from '../events/domain-events.js';
import { AuthService } from '../auth/auth.service.js';
import { generateApiKey, sha256Hex } from '../auth/crypto.js';
import { authorize, can, type Principal } from '../auth/principal.js';
import { projectIdOf } from '../tenancy/model-key.js';
import { AppError, forbidden, notFound } from '../platform/errors.js';

type KeyRow = NonNullable<Awaited<ReturnType<ApiKeysRepository['findById']>>>;
export const toApiKeyResponse = (k: KeyRow): TApiKey => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes as Scope[],
  modelAllowList: k.modelAllowList,
  owner: k.user
    ? { kind: 'user', id: k.user.id, name: k.user.name }
    : { kind: 'serviceAccount', id: k.serviceAccount!.id, name: k.serviceAccount!.name },
  expiresAt: k.expiresAt?.toISOString() ?? null,
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
  createdAt: k.createdAt.toISOString(),
});

/**
 * Keys for users (their own, from the dashboard) and for service accounts (admins only). The secret is
 * returned once, from create; only its SHA-256 is stored.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly events: DomainEvents,
    private readonly auth: AuthService,
  ) {}

  async list(actor: Principal): Promise<TApiKey[]> {
    authorize(actor, 'apiKeys.own');
    const projectId = projectIdOf(actor);
    const rows = can(actor, 'apiKeys.manage')
      ? await this.repo.list(projectId)
      : await this.repo.list(projectId, actor.kind === 'user' ? { userId: actor.id } : { serviceAccountId: actor.id });
    return rows.map(toApiKeyResponse);
  }

  async create(actor: Principal, req: TCreateApiKeyRequest): Promise<TCreatedApiKey> {
    authorize(actor, 'apiKeys.own');
    let owner: { userId?: string; serviceAccountId?: string; role: Role };
    if (req.serviceAccountId) {
      authorize(actor, 'apiKeys.manage');
      const sa = await this.repo.findServiceAccount(req.serviceAccountId);
      // A service account's keys act in its project: only that project's admins mint them.
      if (!sa || sa.projectId !== projectIdOf(actor)) throw notFound('Service account');
      owner = { serviceAccountId: sa.id, role: sa.role as Role };
    } else if (actor.kind === 'user' && actor.role) {
      // A user's key acts in the project the user acts in now, with at most the user's role there.
      owner = { userId: actor.id, role: actor.role };
    } else {
      throw new AppError(
        'BAD_REQUEST',
        'A service account creates keys for itself only through an admin: pass serviceAccountId',
      );
    }
    const scopes = [...new Set(req.scopes)];
    const beyond = scopes.filter((s) => !SCOPES_BY_ROLE[owner.role].includes(s));
    if (beyond.length) {
      throw forbidden(`A ${owner.role} cannot hold a key with scope(s) ${beyond.join(', ')}`);
    }
    // A key-authenticated caller cannot mint a key with scopes its own key lacks.
    if (actor.scopes !== null && scopes.some((s) => !actor.scopes!.includes(s))) {
      throw forbidden('A new key cannot have scopes the calling key lacks');
    }
    let expiresAt = req.expiresAt ? new Date(req.expiresAt) : undefined;
    if (expiresAt && expiresAt.getTime() <= Date.now())
      throw new AppError('VALIDATION_FAILED', 'expiresAt must be in the future');
    let modelAllowList = [...new Set(req.modelAllowList)];
    // Nor a key that outlives it or reaches models it cannot: a leaked, limited key must stay limited.
    if (actor.apiKeyId !== null) {
      const limits = this.narrowedByCallingKey(
        actor,
        modelAllowList,
        expiresAt,
        await this.repo.findById(actor.apiKeyId),
      );
      modelAllowList = limits.modelAllowList;
      expiresAt = limits.expiresAt;
    }
    const { key, prefix } = generateApiKey();
    const row = await this.events.change(
      actor,
      () =>
        this.repo.create({
          projectId: projectIdOf(actor),
          name: req.name,
          prefix,
          sha256: sha256Hex(key),
          scopes,
          modelAllowList,
          userId: owner.userId,
          serviceAccountId: owner.serviceAccountId,
          expiresAt,
        }),
      (r) => ({
        type: 'apiKey.created',
        objectId: r.id,
        data: { name: r.name, prefix, scopes, modelAllowList, owner: owner.userId ?? owner.serviceAccountId ?? null },
      }),
    );
    // Tokens of an unknown prefix are refused without a lookup: every api process must know this one now.
    await this.auth.keyCreated(prefix);
    return { apiKey: toApiKeyResponse(row), secret: key };
  }

  /**
   * A key minted by a key: an empty allow-list inherits the caller's, a named one must be inside it; no expiry
   * inherits the caller's, a later one is refused.
   */
  private narrowedByCallingKey(
    actor: Principal,
    wanted: string[],
    expiresAt: Date | undefined,
    calling: { expiresAt: Date | null } | null,
  ): { modelAllowList: string[]; expiresAt: Date | undefined } {
    let modelAllowList = wanted;
    if (actor.modelAllowList.length) {
      const outside = wanted.filter((m) => !actor.modelAllowList.includes(m));
      if (outside.length)
        throw forbidden(`A new key cannot reach models the calling key cannot: ${outside.join(', ')}`);
      if (!wanted.length) modelAllowList = [...actor.modelAllowList];
    }
    const cap = calling?.expiresAt ?? null;
    if (cap) {
      if (expiresAt && expiresAt.getTime() > cap.getTime()) {
        throw forbidden(`A new key cannot expire later than the calling key (${cap.toISOString()})`);
      }
      expiresAt ??= cap;
    }
    return { modelAllowList, expiresAt };
  }

  async revoke(actor: Principal, id: string): Promise<TApiKey> {
    authorize(actor, 'apiKeys.own');
    const k = await this.repo.findById(id);
    if (!k || k.projectId !== projectIdOf(actor)) throw notFound('API key');
    const own = (k.userId && k.userId === actor.id) || (k.serviceAccountId && k.serviceAccountId === actor.id);
    if (!own && !can(actor, 'apiKeys.manage')) throw notFound('API key');
    const row = k.revokedAt
      ? k
      : await this.events.change(
          actor,
          () => this.repo.revoke(id, new Date()),
          () => ({
            type: 'apiKey.revoked',
            objectId: id,
            data: { prefix: k.prefix },
          }),
        );
    await this.auth.invalidate();
    return toApiKeyResponse(row);
  }
}
