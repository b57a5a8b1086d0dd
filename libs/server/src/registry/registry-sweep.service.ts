import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { JobPayloadParsed } from '@modelyard/contracts';
import type { CommonConfig } from '@modelyard/config';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { RegistryRepository } from './registry.repository.js';
import { RegistryValidationService } from './registry-validation.service.js';

export const DEFAULT_STUCK_MINUTES = 15;

/**
 * Nothing stays `pending`: a validation whose worker was killed (out of memory, redeployed), or a job lost with
 * its queue, would otherwise leave the version pending forever. Every minute, versions pending for longer than
 * VALIDATION_STUCK_MINUTES are failed like any failed validation (reason, history row, `version.failed`).
 */
@Injectable()
export class RegistrySweepService implements JobHandler<'registry.sweep'> {
  readonly job = 'registry.sweep' as const;

  constructor(
    private readonly repo: RegistryRepository,
    private readonly validation: RegistryValidationService,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig & { worker?: { validation?: { stuckMinutes?: number } } },
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle(_payload: JobPayloadParsed<'registry.sweep'>, _ctx: JobContext) {
    const minutes = this.cfg.worker?.validation?.stuckMinutes ?? DEFAULT_STUCK_MINUTES;
    const stuck = await this.repo.stuckPendingVersions(new Date(Date.now() - minutes * 60_000));
    for (const v of stuck) {
      this.log.warn(
        { model: v.model.name, version: v.number, since: v.createdAt },
        'failing a version stuck in pending',
      );
      await this.validation.fail(
        v,
        `Validation did not finish within ${minutes} minutes (the worker validating it may have stopped); register the version again.`,
      );
    }
    return { failed: stuck.length };
  }
}
