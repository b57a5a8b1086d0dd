import { Injectable } from '@nestjs/common';
import type {
  TCreateProjectRequest,
  TProject,
  TProjectGrant,
  TProjectQuotas,
  TPutGrantRequest,
  TUpdateProjectRequest,
} from '@modelyard/contracts';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectQuotas } from './quotas.service.js';
import { DEFAULT_PROJECT } from '../tenancy/model-key.js';
import { roleIn } from '../tenancy/project-roles.js';
import { AuthService } from '../auth/auth.service.js';
import { authorize, type Principal } from '../auth/principal.js';
import { DomainEvents } from '../events/domain-events.js';
import { AppError, conflict, notFound } from '../platform/errors.js';
import { isUniqueViolation } from '../db/errors.js';

type ProjectRow = NonNullable<Awaited<ReturnType<ProjectsRepository['findByName']>>>;
type GrantRow = Awaited<ReturnType<ProjectsRepository['grants']>>[number];

const quotasOf = (p: ProjectRow): TProjectQuotas => ({
  maxVersions: p.maxVersions,
  maxStoredBytes: p.maxStoredBytes === null ? null : Number(p.maxStoredBytes),
  maxRequestsPerSecond: p.maxRequestsPerSecond,
  maxConcurrentJobs: p.maxConcurrentJobs,
});
const quotaColumns = (q: Partial<TProjectQuotas> | undefined) =>
  q
    ? {
        maxVersions: q.maxVersions,
        maxStoredBytes:
          q.maxStoredBytes === undefined || q.maxStoredBytes === null ? q.maxStoredBytes : BigInt(q.maxStoredBytes),
        maxRequestsPerSecond: q.maxRequestsPerSecond,
        maxConcurrentJobs: q.maxConcurrentJobs,
      }
    : {};
const toGrant = (g: GrantRow): TProjectGrant =>
  g.user
    ? { kind: 'user', id: g.user.id, name: g.user.name, role: g.role }
    : { kind: 'group', id: g.group!.id, name: g.group!.name, role: g.role };
const subjectOf = (g: { kind: 'user' | 'group'; id: string }) =>
  g.kind === 'user' ? { userId: g.id } : { groupId: g.id };

/**
 * Projects: the tenant boundary. Platform admins create and delete them and set quotas; a project's admins
 * decide who has which role in it (users, or directory groups so a team maps to its project). Every other
 * action happens in the project the caller acts in (`Principal.project`), and only there.
 */
@Injectable()
export class ProjectsService {
  constructor(
    private readonly repo: ProjectsRepository,
    private readonly events: DomainEvents,
    private readonly auth: AuthService,
    private readonly quotas: ProjectQuotas,
  ) {}

  /** The projects the caller has a role in (a platform admin: all), with that role. */
  async list(actor: Principal): Promise<TProject[]> {
    authorize(actor, 'projects.read');
    if (actor.platformAdmin) return (await this.repo.list()).map((p) => this.toResponse(p, 'admin'));
    const grants = await this.auth.grantsOf(actor);
    const ids = [...new Set(grants.map((g) => g.projectId))];
    return (await this.repo.list(ids)).map((p) => this.toResponse(p, roleIn(p.id, grants, false)));
  }

  /** The project the caller acts in, with what it uses of its quotas. */
  async get(actor: Principal): Promise<TProject> {
    const p = await this.current(actor);
    return { ...this.toResponse(p, actor.role), usage: await this.quotas.usage(p.id) };
  }

  async create(actor: Principal, req: TCreateProjectRequest): Promise<TProject> {
    authorize(actor, 'projects.write');
    const p = await this.events
      .change(
        actor,
        () => this.repo.create({ name: req.name, description: req.description, ...quotaColumns(req.quotas) }),
        (p) => ({ type: 'project.created', objectId: p.id, project: p.name, data: { name: p.name } }),
      )
      .catch((e: unknown) => {
        throw isUniqueViolation(e) ? conflict(`A project named ${req.name} already exists`) : e;
      });
    await this.auth.invalidate();
    if (req.quotas) await this.quotas.reload();
    return this.toResponse(p, 'admin');
  }

  /** A project's admins edit its description; its quotas are the platform admins' to set. */
  async update(actor: Principal, req: TUpdateProjectRequest): Promise<TProject> {
    authorize(actor, req.quotas ? 'projects.write' : 'projects.grants');
    const before = await this.current(actor);
    const p = await this.events.change(
      actor,
      () => this.repo.update(before.id, { description: req.description, ...quotaColumns(req.quotas) }),
      (p) => ({
        type: 'project.updated',
        objectId: p.id,
        project: p.name,
        data: { description: req.description, quotas: req.quotas },
      }),
    );
    await this.auth.invalidate();
    // This process enforces a new requests/s quota from the answer on; the others on auth-changed.
    if (req.quotas) await this.quotas.reload();
    return { ...this.toResponse(p, actor.role), usage: await this.quotas.usage(p.id) };
  }

  /** Only an empty project goes: its models and service accounts must be deleted (or moved) first. */
  async delete(actor: Principal): Promise<void> {
    authorize(actor, 'projects.write');
    const p = await this.current(actor);
    if (p.name === DEFAULT_PROJECT) throw new AppError('CONFLICT', 'The default project cannot be deleted');
    const left = await this.repo.contents(p.id);
    if (left.models || left.serviceAccounts) {
      throw conflict(
        `Project ${p.name} still has ${left.models} model(s) and ${left.serviceAccounts} service account(s)`,
      );
    }
    await this.events.change(
      actor,
      () => this.repo.delete(p.id),
      () => ({ type: 'project.deleted', objectId: p.id, project: p.name, data: { name: p.name } }),
    );
    await this.auth.invalidate();
  }

  async grants(actor: Principal): Promise<TProjectGrant[]> {
    authorize(actor, 'projects.grants');
    const p = await this.current(actor);
    return (await this.repo.grants(p.id)).map(toGrant);
  }

  async setGrant(actor: Principal, req: TPutGrantRequest): Promise<TProjectGrant> {
    authorize(actor, 'projects.grants');
    const p = await this.current(actor);
    const named =
      req.email !== undefined
        ? await this.repo.userByEmail(req.email)
        : req.kind === 'user'
          ? await this.repo.userName(req.id!).then((u) => u && { id: req.id!, ...u })
          : await this.repo.groupName(req.id!).then((g) => g && { id: req.id!, ...g });
    if (!named) throw notFound(req.kind === 'user' ? 'User' : 'Group');
    const subject = { kind: req.kind, id: named.id };
    const g = await this.events.change(
      actor,
      () => this.repo.setGrant(p.id, subjectOf(subject), req.role),
      () => ({
        type: 'project.grant_set',
        objectId: p.id,
        project: p.name,
        data: { kind: req.kind, id: named.id, name: named.name, role: req.role },
      }),
    );
    await this.auth.invalidate();
    return toGrant(g);
  }

  async removeGrant(actor: Principal, subject: { kind: 'user' | 'group'; id: string }): Promise<void> {
    authorize(actor, 'projects.grants');
    const p = await this.current(actor);
    const removed = await this.events.change(
      actor,
      () => this.repo.removeGrant(p.id, subjectOf(subject)),
      (r) =>
        r.count ? [{ type: 'project.grant_removed', objectId: p.id, project: p.name, data: { ...subject } }] : [],
    );
    if (!removed.count) throw notFound('Grant');
    await this.auth.invalidate();
  }

  private async current(actor: Principal): Promise<ProjectRow> {
    if (!actor.project || actor.role === null) throw notFound('Project');
    const p = await this.repo.findByName(actor.project.name);
    if (!p) throw notFound(`Project ${actor.project.name}`);
    return p;
  }

  private toResponse(p: ProjectRow, role: TProject['role']): TProject {
    return {
      id: p.id,
      name: p.name,
      description: p.description,
      role,
      quotas: quotasOf(p),
      createdAt: p.createdAt.toISOString(),
    };
  }
}
