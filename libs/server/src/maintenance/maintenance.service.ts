import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AuthRepository } from '../auth/auth.repository.js';
import { PredictionLogRepository } from '../predictions/prediction-log.repository.js';
import { JobsRepository } from '../jobs/jobs.repository.js';
import { DriftRepository } from '../drift/drift.repository.js';
import { OutboxRepository } from '../events/outbox.repository.js';
import { AlertsRepository } from '../alerts/alerts.repository.js';
import { FeedbackRepository } from '../feedback/feedback.repository.js';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import type { CommonConfig } from '@modelyard/config';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import type { JobPayloadParsed } from '@modelyard/contracts';

/**
 * Housekeeping that no request should pay for: expired sessions; prediction log rows, drift windows, resolved
 * alerts, ground truth labels and async results past their retention.
 */
const OUTBOX_RETENTION_MS = 7 * 24 * 3600_000;

@Injectable()
export class MaintenanceService implements JobHandler<'maintenance.cleanup'> {
  readonly job = 'maintenance.cleanup' as const;
  constructor(
    private readonly auth: AuthRepository,
    private readonly predictionLog: PredictionLogRepository,
    private readonly jobs: JobsRepository,
    private readonly drift: DriftRepository,
    private readonly alerts: AlertsRepository,
    private readonly outbox: OutboxRepository,
    private readonly groundTruth: FeedbackRepository,
    @Inject(COMMON_CONFIG)
    private readonly cfg: CommonConfig & {
      worker?: { predictionLogRetentionDays?: number; driftRetentionDays?: number; groundTruthRetentionDays?: number };
    },
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle(_payload: JobPayloadParsed<'maintenance.cleanup'>, _ctx: JobContext) {
    const { count } = await this.auth.deleteExpiredSessions(new Date());
    const days = this.cfg.worker?.predictionLogRetentionDays ?? 30;
    const logs = await this.predictionLog.deleteBefore(new Date(Date.now() - days * 86_400_000));
    // Async prediction results past JOB_RESULT_TTL_HOURS (batch jobs have no expiry: their files are the result).
    const jobs = await this.jobs.deleteExpired(new Date());
    const driftBefore = new Date(Date.now() - (this.cfg.worker?.driftRetentionDays ?? 90) * 86_400_000);
    const windows = await this.drift.deleteWindowsBefore(driftBefore);
    const alerts = await this.alerts.deleteResolvedBefore(driftBefore);
    // Delivered events live on as audit rows; a week of them is enough to look into a delivery.
    const events = await this.outbox.deleteDispatchedBefore(new Date(Date.now() - OUTBOX_RETENTION_MS));
    const labelDays = this.cfg.worker?.groundTruthRetentionDays ?? 90;
    const labels = await this.groundTruth.deleteBefore(new Date(Date.now() - labelDays * 86_400_000));
    const done = {
      expiredSessions: count,
      predictionLogRows: logs.count,
      expiredJobs: jobs.count,
      driftWindows: windows.count,
      resolvedAlerts: alerts.count,
      outboxEvents: events,
      groundTruthLabels: labels.count,
    };
    this.log.info(done, 'maintenance.cleanup done');
    return done;
  }
}
