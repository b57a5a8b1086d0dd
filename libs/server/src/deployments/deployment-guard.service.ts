import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ZDeploymentConfig, type JobPayloadParsed } from '@modelyard/contracts';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';
import { SYSTEM } from '../auth/principal.js';
import { DomainEvents } from '../events/domain-events.js';
import { LOGGER } from '../platform/tokens.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { RollupsRepository } from '../serving/rollups.repository.js';
import { quantileMs } from '../serving/rollups.service.js';

/**
 * The worker's watch over pilots: for each pilot with an auto-rollback rule, read its per-minute rollups
 * (merged across api processes) over the rule's window; past the error-rate or p99 limit, switch the pilot
 * off with a new revision and a `deployment.rolled_back` event (audit row, webhook) that says why.
 */
@Injectable()
export class DeploymentGuardService implements JobHandler<'deployments.check'> {
  readonly job = 'deployments.check' as const;

  constructor(
    private readonly repo: DeploymentsRepository,
    private readonly deployments: DeploymentsService,
    private readonly rollups: RollupsRepository,
    private readonly events: DomainEvents,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle(_payload: JobPayloadParsed<'deployments.check'>, _ctx: JobContext) {
    const rolledBack: { model: string; version: number; reason: string }[] = [];
    for (const { model, modelId, revision } of await this.repo.allCurrent()) {
      const config = ZDeploymentConfig.parse(revision.config);
      // The pilots still on after this run's rollbacks: a second rollback of one model starts from the first's.
      let pilots = config.pilots;
      for (const pilot of config.pilots) {
        const rule = pilot.autoRollback;
        if (!rule) continue;
        // Rollup rows are keyed by the start of their minute: align the window to whole minutes, or requests
        // made late in a minute would fall outside a window that starts a few seconds after that minute began.
        const to = new Date();
        const from = new Date(Math.floor((to.getTime() - rule.windowMinutes * 60_000) / 60_000) * 60_000);
        const rows = (await this.rollups.range(model, from, to, pilot.version)).filter((r) => r.role === 'pilot');
        const count = rows.reduce((a, r) => a + r.count, 0);
        if (count < rule.minRequests) continue;
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
        if (!reasons.length) continue;
        const reason = `${reasons.join(' and ')} over the last ${rule.windowMinutes} min (${count} requests)`;
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
    return { rolledBack };
  }
}
