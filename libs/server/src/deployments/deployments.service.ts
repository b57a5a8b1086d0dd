import { Injectable } from '@nestjs/common';
import {
  ZDeploymentConfig,
  type TDeployment,
  type TDeploymentConfig,
  type TDeploymentRevision,
  type TPromotePilotRequest,
  type TPutDeploymentRequest,
  type TRollbackRequest,
  type TStageTransitionResult,
} from '@modelyard/contracts';
import { DeploymentsRepository } from './deployments.repository.js';
import { authorize, authorizeModel, can, type Principal } from '../auth/principal.js';
import { keyFor } from '../tenancy/model-key.js';
import { DomainEvents } from '../events/domain-events.js';
import { AppError, conflict, forbidden, notFound } from '../platform/errors.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { actorColumns, RegistryService } from '../registry/registry.service.js';

export const DEFAULT_DEPLOYMENT: TDeploymentConfig = { production: { mode: 'stage' }, pilots: [], silent: [] };

type RevisionRow = NonNullable<Awaited<ReturnType<RegistryRepository['currentDeployment']>>>;
const toRevision = (r: RevisionRow): TDeploymentRevision => ({
  revision: r.number,
  config: ZDeploymentConfig.parse(r.config),
  comment: r.comment,
  createdAt: r.createdAt.toISOString(),
  author: { kind: r.authorKind, id: r.authorId, name: r.authorName },
});

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Deployment rules: changing what production serves, and pilots that reach a percentage of all callers, need
 * an approver (models.promote). Scientists (models.write) may add silent versions and group pilots for groups
 * they belong to, and may always remove a pilot. Every change is a revision; rollback re-applies an old one.
 */
@Injectable()
export class DeploymentsService {
  constructor(
    private readonly repo: DeploymentsRepository,
    private readonly registryRepo: RegistryRepository,
    private readonly registry: RegistryService,
    private readonly events: DomainEvents,
  ) {}

  async get(actor: Principal, model: string): Promise<TDeployment> {
    authorize(actor, 'models.read');
    const m = await this.model(actor, model);
    const cur = await this.registryRepo.currentDeployment(m.id);
    return { model, current: cur ? toRevision(cur) : null };
  }

  async revisions(actor: Principal, model: string): Promise<{ items: TDeploymentRevision[]; nextCursor: null }> {
    authorize(actor, 'models.read');
    const m = await this.model(actor, model);
    return { items: (await this.repo.revisions(m.id, 200)).map(toRevision), nextCursor: null };
  }

  async put(actor: Principal, model: string, req: TPutDeploymentRequest): Promise<TDeploymentRevision> {
    authorize(actor, 'models.write');
    const m = await this.model(actor, model);
    return this.apply(actor, m, req.config, req.comment);
  }

  async rollback(actor: Principal, model: string, req: TRollbackRequest): Promise<TDeploymentRevision> {
    authorize(actor, 'models.write');
    const m = await this.model(actor, model);
    const cur = await this.registryRepo.currentDeployment(m.id);
    if (!cur) throw conflict(`Model ${model} has no deployment revision to roll back`);
    const target = req.revision ?? cur.number - 1;
    if (target < 1 || target === cur.number)
      throw conflict(`There is no earlier revision than ${cur.number} to roll back to`);
    const r = await this.repo.revision(m.id, target);
    if (!r) throw notFound(`Deployment revision ${target}`);
    return this.apply(actor, m, ZDeploymentConfig.parse(r.config), req.comment || `rollback to revision ${target}`);
  }

  /**
   * A pilot that proved itself becomes production in one call: the registry's stage rules apply (approver,
   * second-approver policy, archiving the previous version); once it is in Production the pilot is removed and
   * production follows the stage again.
   */
  async promotePilot(
    actor: Principal,
    model: string,
    req: TPromotePilotRequest,
  ): Promise<{ transition: TStageTransitionResult; revision: TDeploymentRevision | null }> {
    authorize(actor, 'models.promote');
    const m = await this.model(actor, model);
    const cur = await this.registryRepo.currentDeployment(m.id);
    const config = cur ? ZDeploymentConfig.parse(cur.config) : DEFAULT_DEPLOYMENT;
    if (!config.pilots.some((p) => p.version === req.version))
      throw conflict(`Version ${req.version} is not a pilot of ${model}`);
    const transition = await this.registry.transition(actor, model, req.version, {
      stage: 'Production',
      comment: req.comment || 'promoted from pilot',
      archivePrevious: true,
    });
    if (transition.outcome !== 'transitioned') return { transition, revision: null };
    const next: TDeploymentConfig = {
      ...config,
      production: { mode: 'stage' },
      pilots: config.pilots.filter((p) => p.version !== req.version),
    };
    return {
      transition,
      revision: await this.apply(actor, m, next, req.comment || `version ${req.version} promoted from pilot`),
    };
  }

  private async apply(actor: Principal, m: { id: string; name: string }, config: TDeploymentConfig, comment: string) {
    const cur = await this.registryRepo.currentDeployment(m.id);
    const before = cur ? ZDeploymentConfig.parse(cur.config) : DEFAULT_DEPLOYMENT;
    this.checkRights(actor, before, config);
    await this.checkVersions(m.name, config);
    const r = await this.events.change(
      actor,
      () => this.repo.append(m.id, config, actorColumns(actor), comment),
      (r) => ({
        type: 'deployment.changed',
        objectId: m.id,
        data: { model: m.name, revision: r.number, comment, before, after: config },
      }),
    );
    return toRevision(r);
  }

  private checkRights(actor: Principal, before: TDeploymentConfig, after: TDeploymentConfig) {
    if (can(actor, 'models.promote')) return;
    if (!same(before.production, after.production))
      throw forbidden('Changing what production serves needs the approver role and the models:promote scope');
    const mine = new Set(actor.groups.map((g) => g.id));
    for (const p of after.pilots) {
      if (before.pilots.some((b) => same(b, p))) continue; // unchanged pilots are not re-judged
      if (p.percentage > 0) throw forbidden('A pilot for a percentage of all callers needs the approver role');
      const foreign = p.groups.filter((g) => !mine.has(g));
      if (foreign.length) throw forbidden(`You can pilot only to groups you belong to (not ${foreign.join(', ')})`);
    }
  }

  private async checkVersions(model: string, config: TDeploymentConfig) {
    const wanted = new Set([...config.pilots.map((p) => p.version), ...config.silent.map((s) => s.version)]);
    if (config.production.mode === 'pinned') wanted.add(config.production.version);
    for (const n of wanted) {
      const v = await this.registryRepo.findVersion(model, n);
      if (!v) throw new AppError('VALIDATION_FAILED', `Model ${model} has no version ${n}`);
      if (v.status !== 'ready')
        throw new AppError('VALIDATION_FAILED', `Version ${n} is ${v.status}; only ready versions can be deployed`);
    }
    const total = config.pilots.reduce((a, p) => a + p.percentage, 0);
    if (total > 100) throw new AppError('VALIDATION_FAILED', `Pilot percentages add up to ${total}; at most 100`);
  }

  /** The model the actor names, in its project. */
  private async model(actor: Principal, name: string) {
    authorizeModel(actor, name);
    const m = await this.registryRepo.findModel(keyFor(actor, name));
    if (!m) throw notFound(`Model ${name}`);
    return m;
  }
}
