import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { AlertsRepository } from '../alerts/alerts.repository.js';
import type { AuthRepository } from '../auth/auth.repository.js';
import type { DriftRepository } from '../drift/drift.repository.js';
import type { OutboxRepository } from '../events/outbox.repository.js';
import type { FeedbackRepository } from '../feedback/feedback.repository.js';
import type { JobsRepository } from '../jobs/jobs.repository.js';
import type { PredictionLogRepository } from '../predictions/prediction-log.repository.js';
import type { JobContext } from '../queue/job-handler.js';
import { MaintenanceService } from './maintenance.service.js';

const CTX: JobContext = { jobId: 'q', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };
const DAY = 86_400_000;

/** A table of rows by timestamp: deleting before a cutoff drops the older ones and says how many. */
function table(daysAgo: number[]) {
  const now = Date.now();
  const rows = daysAgo.map((d) => new Date(now - d * DAY));
  return {
    rows,
    deleteBefore: async (cutoff: Date) => {
      const kept = rows.filter((at) => at >= cutoff);
      const count = rows.length - kept.length;
      rows.splice(0, rows.length, ...kept);
      return { count };
    },
  };
}

/**
 * Every store the cleanup touches, in memory. Sessions and async results carry their expiry (negative: still
 * valid); logs, drift windows, resolved alerts and dispatched events their age in days.
 */
function fakes() {
  const sessions = table([1, 0.1, -1]);
  const logs = table([1, 29, 31, 100]);
  const results = table([2, -5]);
  const windows = table([10, 89, 91]);
  const alerts = table([89.5, 95, 400]);
  const outbox = table([1, 6.9, 7.1, 30]);
  const labels = table([1, 89, 91, 200]);
  const deps = {
    auth: { deleteExpiredSessions: sessions.deleteBefore } as unknown as AuthRepository,
    predictionLog: { deleteBefore: logs.deleteBefore } as unknown as PredictionLogRepository,
    jobs: { deleteExpired: results.deleteBefore } as unknown as JobsRepository,
    drift: { deleteWindowsBefore: windows.deleteBefore } as unknown as DriftRepository,
    alerts: { deleteResolvedBefore: alerts.deleteBefore } as unknown as AlertsRepository,
    outbox: {
      deleteDispatchedBefore: async (cutoff: Date) => (await outbox.deleteBefore(cutoff)).count,
    } as unknown as OutboxRepository,
    labels: { deleteBefore: labels.deleteBefore } as unknown as FeedbackRepository,
  };
  const infos: unknown[] = [];
  const log = Object.assign(pino({ level: 'silent' }), { info: (o: unknown) => void infos.push(o) });
  const make = (worker?: Record<string, number>) =>
    new MaintenanceService(
      deps.auth,
      deps.predictionLog,
      deps.jobs,
      deps.drift,
      deps.alerts,
      deps.outbox,
      deps.labels,
      { worker } as unknown as CommonConfig,
      log,
    );
  return { sessions, logs, results, windows, alerts, outbox, labels, infos, make };
}

describe(MaintenanceService.name, () => {
  let f: ReturnType<typeof fakes>;
  beforeEach(() => {
    f = fakes();
  });

  it('deletes what is past its retention by default (logs 30 days, drift, alerts and labels 90, events 7), saying how much', async () => {
    const done = await f.make().handle({ reason: 'schedule' }, CTX);
    assert.deepEqual(done, {
      expiredSessions: 2,
      predictionLogRows: 2,
      expiredJobs: 1,
      driftWindows: 1,
      resolvedAlerts: 2,
      outboxEvents: 2,
      groundTruthLabels: 2,
    });
    assert.deepEqual(
      [f.sessions, f.logs, f.results, f.windows, f.alerts, f.outbox, f.labels].map((t) => t.rows.length),
      [1, 2, 1, 2, 1, 2, 2],
    );
    assert.deepEqual(f.infos, [done]);
  });

  it('keeps prediction logs, drift windows, resolved alerts and labels as long as the worker settings say', async () => {
    const done = await f
      .make({ predictionLogRetentionDays: 7, driftRetentionDays: 365, groundTruthRetentionDays: 30 })
      .handle({ reason: 'schedule' }, CTX);
    assert.deepEqual(
      [done.predictionLogRows, done.driftWindows, done.resolvedAlerts, done.groundTruthLabels],
      [3, 0, 1, 3],
    );
  });

  it('finds nothing to do on a second run', async () => {
    await f.make().handle({ reason: 'schedule' }, CTX);
    assert.deepEqual(Object.values(await f.make().handle({ reason: 'schedule' }, CTX)), [0, 0, 0, 0, 0, 0, 0]);
  });
});
