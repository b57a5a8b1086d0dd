import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ZReferenceDataset, type JobPayloadParsed } from '@modelyard/contracts';
import { CsvRecordReader } from '../jobs/csv-stream.js';
import { AppError } from '../platform/errors.js';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import type { CommonConfig } from '@modelyard/config';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { ARTIFACT_STORE, type ArtifactStore } from '../registry/ports.js';
import { referenceBatch, rowsToBatch, type DriftBatch, type ReferenceProfile } from './drift-profile.js';
import { createWindow, foldBatch } from './drift-window.js';
import { driftReport, type DriftThresholds } from './drift-metrics.js';
import { readBytes } from '../storage/read-bytes.js';
import { roundToFloat32 } from './drift-schema.js';
import { DriftRepository } from './drift.repository.js';
import { publicReason } from '../platform/public-reason.js';
import { asJson } from '../db/json.js';

/** A dataset as columns: a CSV with a header row, or JSON shaped like reference.json. Features only. */
export function parseDataset(text: string, uri: string): DriftBatch {
  const trimmed = text.trimStart();
  if (uri.toLowerCase().endsWith('.json') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new AppError('VALIDATION_FAILED', `The dataset is not valid JSON: ${(e as Error).message}`);
    }
    const parsed = ZReferenceDataset.safeParse(json);
    if (!parsed.success)
      throw new AppError(
        'VALIDATION_FAILED',
        `The JSON dataset needs feature_names and rows (as reference.json): ${parsed.error.issues[0]?.message}`,
      );
    return referenceBatch(parsed.data);
  }
  const reader = new CsvRecordReader();
  const records = [...reader.push(text), ...reader.end()];
  const bad = records.findIndex((r) => r.error);
  if (bad >= 0) throw new AppError('VALIDATION_FAILED', `CSV line ${bad + 1}: ${records[bad]!.error}`);
  const [header, ...rows] = records;
  if (!header || !rows.length)
    throw new AppError('VALIDATION_FAILED', 'The CSV needs a header row and at least one data row');
  const names = header.fields.map((f) => f.trim());
  // Empty cells are missing values, not empty labels.
  return rowsToBatch(
    { features: names.map((name) => ({ name, kind: 'categorical' as const })), outputs: [] },
    rows.map((r) => ({
      features: Object.fromEntries(names.map((n, i) => [n, r.fields[i] === '' ? null : r.fields[i]])),
    })),
  );
}

/**
 * drift.report: an ad hoc report of a dataset in storage against a version's reference profile, in the same
 * shape as a window's report. A dataset has no model outputs, so only features are compared.
 */
@Injectable()
export class DriftAdhocService implements JobHandler<'drift.report'> {
  readonly job = 'drift.report' as const;

  constructor(
    private readonly repo: DriftRepository,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(COMMON_CONFIG)
    private readonly cfg: CommonConfig & { worker?: { drift?: { thresholds?: DriftThresholds } } },
  ) {}

  async handle({ reportId }: JobPayloadParsed<'drift.report'>, ctx: JobContext) {
    const r = await this.repo.findAdhoc(reportId);
    if (!r || r.status === 'succeeded' || r.status === 'failed') return { skipped: true };
    await this.repo.updateAdhoc(r.id, { status: 'running' });
    try {
      const p = await this.repo.findProfile(r.model, r.number);
      if (!p || p.status !== 'ready' || !p.profile)
        throw new AppError(
          'CONFLICT',
          `Version ${r.number} has no reference profile yet (${p?.status ?? 'none'}${p?.error ? `: ${p.error}` : ''})`,
        );
      const full = p.profile as unknown as ReferenceProfile;
      const profile: ReferenceProfile = { ...full, outputs: [] };
      const text = (
        await readBytes(await this.store.get(r.datasetUri), this.store.maxUploadBytes(), 'The dataset')
      ).toString('utf8');
      const batch = roundToFloat32(
        parseDataset(text, r.datasetUri),
        (p.schema as { float32Features?: string[] }).float32Features ?? [],
      );
      const known = new Set(Object.keys(batch.features));
      if (!profile.features.some((f) => known.has(f.name))) {
        throw new AppError(
          'VALIDATION_FAILED',
          `The dataset has none of the model's features (${profile.features
            .slice(0, 5)
            .map((f) => f.name)
            .join(', ')}…)`,
        );
      }
      const window = foldBatch(createWindow(profile), profile, batch);
      const report = driftReport(profile, window, this.cfg.worker?.drift?.thresholds);
      await this.repo.updateAdhoc(r.id, {
        status: 'succeeded',
        report: asJson(report),
        error: null,
        finishedAt: new Date(),
      });
      return { status: report.status, rows: report.rows };
    } catch (e) {
      const permanent = (e instanceof AppError && e.status < 500) || e instanceof SyntaxError;
      if (!permanent && ctx.attempt < ctx.maxAttempts) throw e;
      const reason = publicReason(e, 'The report could not be made');
      this.log.warn({ reportId, reason }, 'ad hoc drift report failed');
      await this.repo.updateAdhoc(r.id, { status: 'failed', error: reason.slice(0, 2000), finishedAt: new Date() });
      return { failed: reason };
    }
  }
}
