import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AuthRepository } from '../auth/auth.repository.js';
import { LOGGER } from '../platform/tokens.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import type { JobPayloadParsed } from '@modelyard/contracts';

/** Housekeeping that no request should pay for: expired sessions today, retention of logs later. */
@Injectable()
export class MaintenanceService implements JobHandler<'maintenance.cleanup'> {
  readonly job = 'maintenance.cleanup' as const;
  constructor(private readonly auth: AuthRepository, @Inject(LOGGER) private readonly log: Logger) {}

  async handle(_payload: JobPayloadParsed<'maintenance.cleanup'>, _ctx: JobContext) {
    const { count } = await this.auth.deleteExpiredSessions(new Date());
    this.log.info({ expiredSessions: count }, 'maintenance.cleanup done');
    return { expiredSessions: count };
  }
}
