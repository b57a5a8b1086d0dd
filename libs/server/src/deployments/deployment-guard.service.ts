import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ZDeploymentConfig, type JobPayloadParsed, type TPilot } from '@modelyard/contracts';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';
import { SYSTEM } from '../auth/principal.js';
import { DomainEvents } from '../events/domain-events.js';
import { LOGGER } from '../platform/tokens.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { RollupsRepository } from '../serving/rollups.repository.js';
import { quantileMs } from '../serving/rollups.service.js';
import { PerformanceService } from '../feedback/performance.service.js';
import { AppError } from '../platform/errors.js';

/**
 * The worker's watch over pilots: for each pilot with an auto-rollback rule, read its per-minute rollups
 * (merged across api processes) over the rule's window; past the error-rate or p99 limit, switch the pilot
 * off with a new revision and a `deployment.rolled_back` event (audit row, webhook) that says why. A pilot with
 * a `judge` rule is compared with production on labelled predictions (PerformanceService.comparison): worse with
 * the rule's confidence, it is rolled back the same way; better, it is promoted (`promotePilot`: Production
 * stage, the pilot dropped in a new revision) with a `deployment.promoted` event; the evidence is in both.
 */
@Injectable()
export class DeploymentGuardService implements JobHandler<'deployments.check'> {
  readonly job = 'deployments.check' as const;

  constructor(
    private readonly repo: DeploymentsRepository,
    private readonly deployments: DeploymentsService,
    private readonly rollups: RollupsRepository,
    private readonly events: DomainEvents,
    private readonly performance: PerformanceService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle(_payload: JobPayloadParsed<'deployments.check'>, _ctx: JobContext) {
    const rolledBack: { model: string; version: number; reason: string }[] = [];
    const promoted: { model: string; version: number; reason: string }[] = [];
    for (const { model, modelId, revision } of await this.repo.allCurrent()) {
      const config = ZDeploymentConfig.parse(revision.config);
      // The pilots still on after this run's rollbacks: a second rollback of one model starts from the first's.
      let pilots = config.pilots;
      for (const pilot of config.pilots) {
        let reason = await this.overLimits(model, pilot);
        if (!reason && pilot.judge) {
          const j = pilot.judge;
          const to = new Date();
          const from = new Date(to.getTime() - j.windowMinutes * 60_000);
          const c = await this.performance.comparison(
            modelId,
            model,
            pilot.version,
            j.metric,
            from,
            to,
            j.confidence,
            j.minLabels,
          );
          if (c.verdict === 'worse' && j.rollback) reason = `judged worse than production: ${c.summary}`;
          else if (c.verdict === 'better' && j.promote) {
            // A model that requires approval: one request per pilot version. While it is pending the approvers
            // have the evidence; once rejected (or withdrawn) a human has said no, and the rule does not ask again.
            const asked = await this.repo.lastProductionApproval(modelId, pilot.version);
            if (asked && asked.status !== 'approved') continue;
            // Promotion ends this model's run: the deployment it read is no longer the current one.
            if (await this.promote(model, modelId, pilot.version, c.summary))
              promoted.push({ model, version: pilot.version, reason: c.summary });
            break;
          }
        }
        if (!reason) continue;
        const next = { ...config, pilots: pilots.filter((p) => p !== pilot) };
        pilots = next.pilots;
        // The new revision and the rollback's own event commit together.
        await this.events.change(
          SYSTEM,
          () =>
            this.deployments.put(SYSTEM, model, {
              config: next,
              comment: `auto-rollback of pilot v${pilot.version}: ${reason}`,
            }),
          (r) => ({
            type: 'deployment.rolled_back',
            objectId: modelId,
            data: { model, version: pilot.version, reason, revision: r.revision },
          }),
        );
        this.log.warn({ model, version: pilot.version, reason }, 'pilot rolled back automatically');
        rolledBack.push({ model, version: pilot.version, reason });
      }
    }
    return { rolledBack, promoted };
  }

  /** Why a pilot with an auto-rollback rule breaks it now (error rate, p99 over its window), or null. */
  private async overLimits(model: string, pilot: TPilot): Promise<string | null> {
    const rule = pilot.autoRollback;
    if (!rule) return null;
    // Rollup rows are keyed by the start of their minute: align the window to whole minutes, or requests
    // made late in a minute would fall outside a window that starts a few seconds after that minute began.
    const to = new Date();
    const from = new Date(Math.floor((to.getTime() - rule.windowMinutes * 60_000) / 60_000) * 60_000);
    const rows = (await this.rollups.range(model, from, to, pilot.version)).filter((r) => r.role === 'pilot');
    const count = rows.reduce((a, r) => a + r.count, 0);
    if (count < rule.minRequests) return null;
    const errorRate = rows.reduce((a, r) => a + r.errors, 0) / count;
    const p99 = quantileMs(
      rows.reduce<number[]>((acc, r) => r.buckets.map((b, i) => b + (acc[i] ?? 0)), []),
      0.99,
    );
    const reasons = [];
    if (rule.maxErrorRate !== undefined && errorRate > rule.maxErrorRate)
      reasons.push(`error rate ${(errorRate * 100).toFixed(1)}% > ${(rule.maxErrorRate * 100).toFixed(1)}%`);
    if (rule.maxP99Ms !== undefined && p99 !== null && p99 > rule.maxP99Ms)
      reasons.push(`p99 ${p99} ms > ${rule.maxP99Ms} ms`);
    if (!reasons.length) return null;
    return `${reasons.join(' and ')} over the last ${rule.windowMinutes} min (${count} requests)`;
  }

  /**
   * The pilot into Production by the registry's rules, the revision without it, and `deployment.promoted`, in
   * one transaction. A model that requires approval gets an approval request instead (its comment holds the
   * evidence) and no event of ours; later runs ask no more (see handle).
   */
  private async promote(model: string, modelId: string, version: number, evidence: string): Promise<boolean> {
    const comment = `promoted by its rule: ${evidence}`.slice(0, 2000);
    try {
      const r = await this.events.change(
        SYSTEM,
        () => this.deployments.promotePilot(SYSTEM, model, { version, comment }),
        (r) =>
          r.revision
            ? {
                type: 'deployment.promoted',
                objectId: modelId,
                data: { model, version, reason: evidence, revision: r.revision.revision },
              }
            : [],
      );
      if (!r.revision) return false;
      this.log.warn({ model, version, evidence }, 'pilot promoted by its rule');
      return true;
    } catch (e) {
      if (e instanceof AppError && e.status < 500) {
        this.log.info({ model, version, reason: e.message }, 'pilot better than production, not promoted');
        return false;
      }
      throw e;
    }
  }
}
