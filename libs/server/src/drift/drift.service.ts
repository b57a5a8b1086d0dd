import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type {
  TAdhocDriftReport,
  TCreateDriftReportRequest,
  TDriftProfile,
  TDriftReport,
  TDriftSeries,
  TDriftWindowReport,
  ZDriftHistogramQuery,
  ZDriftLatestQuery,
  ZDriftSeriesQuery,
} from '@modelyard/contracts';
import { authorize, authorizeModel, type Principal } from '../auth/principal.js';
import { checkStorageReference } from '../tenancy/storage-scope.js';
import { keyFor, modelNameOf } from '../tenancy/model-key.js';
import { DomainEvents } from '../events/domain-events.js';
import { AppError } from '../platform/errors.js';
import { JobProducer } from '../queue/job-producer.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { ARTIFACT_STORE, type ArtifactStore } from '../registry/ports.js';
import { Inject } from '@nestjs/common';
import type { ColumnProfile, ReferenceProfile } from './drift-profile.js';
import type { DriftWindow } from './drift-window.js';
import { DriftRepository } from './drift.repository.js';

type WindowRow = {
  model: string;
  number: number;
  start: Date;
  minutes: number;
  rows: number;
  silentRows: number;
  report: unknown;
  updatedAt: Date;
};
type AdhocRow = NonNullable<Awaited<ReturnType<DriftRepository['findAdhoc']>>>;
type ProfileRow = NonNullable<Awaited<ReturnType<DriftRepository['findProfile']>>>;

const MAX_RANGE_MS = 93 * 24 * 3600_000;

export function toDriftWindowReport(w: WindowRow): TDriftWindowReport {
  return {
    model: modelNameOf(w.model),
    version: w.number,
    start: w.start.toISOString(),
    end: new Date(w.start.getTime() + w.minutes * 60_000).toISOString(),
    rows: w.rows,
    silent: w.rows > 0 && w.silentRows === w.rows,
    updatedAt: w.updatedAt.toISOString(),
    report: (w.report as TDriftReport | null) ?? null,
  };
}

export function toAdhocDriftReport(r: AdhocRow): TAdhocDriftReport {
  return {
    id: r.id,
    model: modelNameOf(r.model),
    version: r.number,
    datasetUri: r.datasetUri,
    status: r.status as TAdhocDriftReport['status'],
    error: r.error,
    report: (r.report as TDriftReport | null) ?? null,
    createdBy: r.createdByName,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

const columnOf = (c: ColumnProfile) => ({
  name: c.name,
  kind: c.kind,
  counts: c.counts,
  missing: c.missing,
  ...(c.kind === 'numeric' ? { edges: c.edges } : { categories: c.categories }),
});

export function toDriftProfile(p: ProfileRow): TDriftProfile {
  const profile = p.profile as unknown as ReferenceProfile | null;
  return {
    model: modelNameOf(p.model),
    version: p.number,
    status: p.status as TDriftProfile['status'],
    error: p.error,
    rows: p.rows,
    features: profile?.features.map(columnOf) ?? [],
    outputs: profile?.outputs.map(columnOf) ?? [],
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** The API's side of drift: windows and reports as series, profiles, histograms and ad hoc reports. */
@Injectable()
export class DriftService {
  constructor(
    private readonly repo: DriftRepository,
    private readonly registry: RegistryRepository,
    private readonly jobs: JobProducer,
    private readonly events: DomainEvents,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
  ) {}

  /** The version asked for, else the Production version, else the newest version with a profile. */
  private async version(name: string, version?: number): Promise<number> {
    const m = await this.registry.findModel(name);
    if (!m) throw new AppError('NOT_FOUND', `Model "${name}" not found`);
    if (version !== undefined) {
      if (!m.versions.some((v) => v.number === version))
        throw new AppError('NOT_FOUND', `Model "${name}" has no version ${version}`);
      return version;
    }
    const prod = m.versions.find((v) => v.stage === 'Production');
    if (prod) return prod.number;
    const profiled = await this.repo.latestProfiled(name);
    if (profiled) return profiled.number;
    if (m.versions[0]) return m.versions[0].number;
    throw new AppError('NOT_FOUND', `Model "${name}" has no versions`);
  }

  async series(actor: Principal, name: string, q: z.output<typeof ZDriftSeriesQuery>): Promise<TDriftSeries> {
    authorize(actor, 'drift.read');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    const version = await this.version(name, q.version);
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 7 * 24 * 3600_000);
    if (from > to) throw new AppError('VALIDATION_FAILED', 'from must be before to');
    if (to.getTime() - from.getTime() > MAX_RANGE_MS)
      throw new AppError('VALIDATION_FAILED', 'The range is at most 93 days');
    const rows = await this.repo.windows(name, version, from, to);
    const profile = await this.repo.findProfile(name, version);
    const p = profile?.profile as unknown as ReferenceProfile | null;
    return {
      model: modelNameOf(name),
      version,
      features: p?.features.map((c) => c.name) ?? [],
      outputs: p?.outputs.map((c) => c.name) ?? [],
      windows: rows.map((w) => {
        const base = toDriftWindowReport(w);
        const report = base.report;
        const columns = Object.fromEntries(
          [...(report?.features ?? []), ...(report?.outputs ?? [])].map((c) => [
            c.name,
            { status: c.status, psi: c.psi, js: c.js, pValue: c.pValue },
          ]),
        );
        return {
          start: base.start,
          end: base.end,
          rows: base.rows,
          silent: base.silent,
          status: report?.status ?? null,
          driftShare: report?.driftShare ?? null,
          columns,
        };
      }),
    };
  }

  async latest(actor: Principal, name: string, q: z.output<typeof ZDriftLatestQuery>): Promise<TDriftWindowReport> {
    authorize(actor, 'drift.read');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    const version = await this.version(name, q.version);
    const w = await this.repo.latestWindow(name, version);
    if (!w)
      throw new AppError(
        'NOT_FOUND',
        `No drift window for ${name} v${version} yet: it needs a reference profile and logged predictions`,
      );
    return toDriftWindowReport(w);
  }

  async profile(actor: Principal, name: string, version: number): Promise<TDriftProfile> {
    authorize(actor, 'drift.read');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    await this.version(name, version);
    const p = await this.repo.findProfile(name, version);
    if (!p) throw new AppError('NOT_FOUND', `${name} v${version} has no drift profile (it needs a reference dataset)`);
    return toDriftProfile(p);
  }

  /** Rebuilds the profile from the stored reference dataset (after a fix, or for versions registered before drift). */
  async rebuildProfile(actor: Principal, name: string, version: number): Promise<{ queued: true }> {
    authorize(actor, 'drift.write');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    const v = await this.registry.findVersion(name, version);
    if (!v) throw new AppError('NOT_FOUND', `Model "${name}" has no version ${version}`);
    if (v.status !== 'ready')
      throw new AppError('CONFLICT', `Version ${version} is ${v.status}; profiles are built for ready versions`);
    if (!v.referenceUri)
      throw new AppError('CONFLICT', `Version ${version} was registered without a reference dataset`);
    await this.jobs.enqueue('drift.profile', { versionId: v.id }, { jobId: `drift-profile-${v.id}-${Date.now()}` });
    await this.events.record(actor, {
      type: 'drift.profile_requested',
      objectId: v.id,
      data: { model: name, version },
    });
    return { queued: true };
  }

  async histogram(actor: Principal, name: string, q: z.output<typeof ZDriftHistogramQuery>) {
    authorize(actor, 'drift.read');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    const version = await this.version(name, q.version);
    const p = await this.repo.findProfile(name, version);
    const profile = p?.profile as unknown as ReferenceProfile | null;
    const w = await this.repo.latestWindow(name, version, q.start ? new Date(q.start) : undefined);
    if (!profile || !w)
      throw new AppError('NOT_FOUND', `No drift window for ${name} v${version}${q.start ? ` at ${q.start}` : ''}`);
    const window = w.window as unknown as DriftWindow;
    const find = <T extends { name: string }>(a: T[], b: T[]) =>
      a.find((c) => c.name === q.column) ?? b.find((c) => c.name === q.column);
    const ref = find(profile.features, profile.outputs);
    const cur = find(window.features, window.outputs);
    if (!ref || !cur) throw new AppError('NOT_FOUND', `${name} v${version} does not monitor a column "${q.column}"`);
    return {
      model: modelNameOf(name),
      version,
      column: q.column,
      start: w.start.toISOString(),
      reference: columnOf(ref),
      current: { counts: cur.counts, missing: cur.missing },
    };
  }

  async createReport(
    actor: Principal,
    name: string,
    version: number,
    body: TCreateDriftReportRequest,
  ): Promise<TAdhocDriftReport> {
    authorize(actor, 'drift.write');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    const v = await this.registry.findVersion(name, version);
    if (!v) throw new AppError('NOT_FOUND', `Model "${name}" has no version ${version}`);
    this.store.backendOf(body.datasetUri); // BAD_REQUEST now for a location we cannot read, not later in the job
    checkStorageReference(actor, this.store.locate(body.datasetUri), 'datasetUri', this.store.importPrefixes());
    const r = await this.repo.createAdhoc({
      versionId: v.id,
      model: name,
      number: version,
      datasetUri: body.datasetUri,
      status: 'queued',
      createdByKind: actor.kind,
      createdById: actor.kind === 'system' ? null : actor.id,
      createdByName: actor.name,
    });
    await this.jobs.enqueue('drift.report', { reportId: r.id }, { jobId: `drift-report-${r.id}` });
    await this.events.record(actor, {
      type: 'drift.report_requested',
      objectId: v.id,
      data: { model: name, version, datasetUri: body.datasetUri },
    });
    return toAdhocDriftReport(r);
  }

  async getReport(actor: Principal, name: string, version: number, id: string): Promise<TAdhocDriftReport> {
    authorize(actor, 'drift.read');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    const r = await this.repo.findAdhoc(id);
    if (!r || r.model !== name || r.number !== version) throw new AppError('NOT_FOUND', `Drift report ${id} not found`);
    return toAdhocDriftReport(r);
  }
}
