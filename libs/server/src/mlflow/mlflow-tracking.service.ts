import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type {
  TMlflowLogBatch,
  TMlflowRun,
  ZMlflowCreateRun,
  ZMlflowExperiment,
  ZMlflowFileInfo,
  ZMlflowUpdateRun,
} from '@modelyard/contracts';
import { authorize, type Principal } from '../auth/principal.js';
import { projectIdOf } from '../tenancy/model-key.js';
import { asJson } from '../db/json.js';
import { AppError, notFound } from '../platform/errors.js';
import { StorageService } from '../storage/storage.service.js';
import type { StorageKind } from '../storage/storage-uri.js';
import { artifactKey, parseArtifactPath, runArtifactUri, type ArtifactPath } from './mlflow-artifacts.js';
import { invalidParameter } from './mlflow-filter.js';
import { MlflowRunsRepository, type MlflowRunRow } from './mlflow-runs.repository.js';

/** The one experiment: MLflow clients log to experiment 0 ("Default") unless told otherwise. */
const DEFAULT_EXPERIMENT = { id: '0', name: 'Default' };
/** Per run, like MLflow's own server: keys of params, tags and metrics each. */
const MAX_KEYS_PER_RUN = 1000;
/** How many objects one listing of a run's folder looks at. */
const LIST_LIMIT = 10_000;

const noExperiment = (ref: string) =>
  new AppError(
    'NOT_FOUND',
    `Experiment ${JSON.stringify(ref.slice(0, 100))} not found: Modelyard keeps MLflow runs in the default experiment ` +
      '(0, "Default") only',
  );

type Metric = { value: number; timestamp: number; step: number };

const toNumber = (v: number | 'NaN' | 'Infinity' | '-Infinity') =>
  v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;

/**
 * The tracking side of MLflow's API that a client needs to upload a model before registering it: the default
 * experiment, runs (params, metrics and tags kept as the latest value per key) and the proxied artifact store
 * (`mlflow-artifacts:`), whose files go to Modelyard's storage with its upload limit. Reading needs
 * models.read, writing models.write, like the registry the artifacts are for.
 */
@Injectable()
export class MlflowTrackingService {
  constructor(
    private readonly runs: MlflowRunsRepository,
    private readonly storage: StorageService,
  ) {}

  // ---------------------------------------------------------------- experiments

  experiment(actor: Principal, ref: { id?: string; name?: string }): z.infer<typeof ZMlflowExperiment> {
    authorize(actor, 'models.read');
    if (
      (ref.id !== undefined && ref.id !== DEFAULT_EXPERIMENT.id) ||
      (ref.name !== undefined && ref.name !== DEFAULT_EXPERIMENT.name)
    )
      throw noExperiment(ref.id ?? ref.name ?? '');
    return {
      experiment_id: DEFAULT_EXPERIMENT.id,
      name: DEFAULT_EXPERIMENT.name,
      artifact_location: 'mlflow-artifacts:/0',
      lifecycle_stage: 'active',
      creation_time: 0,
      last_update_time: 0,
      tags: [],
    };
  }

  // ---------------------------------------------------------------- runs

  async createRun(actor: Principal, req: z.output<typeof ZMlflowCreateRun>): Promise<TMlflowRun> {
    authorize(actor, 'models.write');
    if (req.experiment_id !== DEFAULT_EXPERIMENT.id) throw noExperiment(req.experiment_id);
    const tags = Object.fromEntries(req.tags.map((t) => [t.key, t.value]));
    const id = randomBytes(16).toString('hex');
    const row = await this.runs.create({
      project: { connect: { id: projectIdOf(actor) } },
      id,
      experimentId: req.experiment_id,
      name: req.run_name ?? tags['mlflow.runName'] ?? `run-${id.slice(0, 8)}`,
      startTime: BigInt(req.start_time ?? Date.now()),
      artifactBackend: this.storage.defaultBackend(),
      tags: asJson(tags),
      createdByKind: actor.kind,
      createdById: actor.kind === 'system' ? null : actor.id,
      createdByName: actor.name,
    });
    return toRun(row);
  }

  async getRun(actor: Principal, runId: string | undefined): Promise<TMlflowRun> {
    authorize(actor, 'models.read');
    return toRun(await this.run(actor, runId));
  }

  async updateRun(actor: Principal, req: z.output<typeof ZMlflowUpdateRun>): Promise<TMlflowRun['info']> {
    authorize(actor, 'models.write');
    const run = await this.run(actor, req.run_id ?? req.run_uuid);
    const row = await this.runs.update(run.id, {
      status: req.status,
      endTime: req.end_time === undefined ? undefined : BigInt(req.end_time),
      name: req.run_name,
    });
    return toRun(row).info;
  }

  /** Params are immutable once logged (as in MLflow); tags and metrics keep their latest value. */
  async logBatch(actor: Principal, req: TMlflowLogBatch): Promise<void> {
    authorize(actor, 'models.write');
    const run = await this.run(actor, req.run_id ?? req.run_uuid);
    const params = { ...(run.params as Record<string, string>) };
    for (const p of req.params) {
      if (params[p.key] !== undefined && params[p.key] !== p.value)
        throw invalidParameter(`Param ${JSON.stringify(p.key)} was already logged with another value`);
      params[p.key] = p.value;
    }
    const tags = {
      ...(run.tags as Record<string, string>),
      ...Object.fromEntries(req.tags.map((t) => [t.key, t.value])),
    };
    const metrics = { ...(run.metrics as Record<string, Metric>) };
    for (const m of req.metrics) {
      const before = metrics[m.key];
      if (!before || m.step > before.step || (m.step === before.step && m.timestamp >= before.timestamp))
        metrics[m.key] = { value: toNumber(m.value), timestamp: m.timestamp, step: m.step };
    }
    for (const [what, record] of [
      ['params', params],
      ['tags', tags],
      ['metrics', metrics],
    ] as const)
      if (Object.keys(record).length > MAX_KEYS_PER_RUN)
        throw invalidParameter(`A run holds at most ${MAX_KEYS_PER_RUN} ${what}`);
    // JSON has no NaN or Infinity: they are stored as MLflow writes them in JSON.
    const storedMetrics = Object.fromEntries(
      Object.entries(metrics).map(([k, m]) => [
        k,
        { ...m, value: Number.isFinite(m.value) ? m.value : String(m.value) },
      ]),
    );
    await this.runs.update(run.id, { params: asJson(params), tags: asJson(tags), metrics: asJson(storedMetrics) });
  }

  /** The run a `runs:/<id>/...` URI or an artifact path names; RESOURCE_DOES_NOT_EXIST when there is none. */
  /** A run of the actor's project (another project's is not found). */
  async run(actor: Principal, runId: string | undefined): Promise<MlflowRunRow> {
    if (!runId) throw invalidParameter('run_id is required');
    const row = /^[0-9a-f]{32}$/.test(runId) ? await this.runs.find(runId) : null;
    if (!row || (actor.project && row.projectId !== actor.project.id))
      throw notFound(`Run ${JSON.stringify(runId.slice(0, 64))}`);
    return row;
  }

  // ---------------------------------------------------------------- proxied artifacts

  /** Streams one file into the run's artifact folder, within the platform's upload limit (MAX_UPLOAD_BYTES). */
  async putArtifact(actor: Principal, rawPath: string, body: Readable, contentType?: string): Promise<void> {
    // A refusal before put leaves the body unread: the api's lingering close (common/lingering-close.ts) reads
    // out a bounded rest, so the client gets this answer rather than a reset connection.
    authorize(actor, 'models.write');
    const p = parseArtifactPath(rawPath);
    if (!p.rest) throw invalidParameter('Give the file name after the artifacts folder');
    const run = await this.artifactRun(actor, p);
    await this.storage.put(this.backendOf(run), artifactKey(p), body, {
      maxBytes: this.storage.maxUploadBytes(),
      contentType,
    });
  }

  /** One file of a run's artifacts, streamed. */
  async getArtifact(actor: Principal, rawPath: string): Promise<{ stream: Readable; sizeBytes: number }> {
    authorize(actor, 'models.read');
    const p = parseArtifactPath(rawPath);
    const run = await this.artifactRun(actor, p);
    const found = await this.findObject(run, p);
    if (!found) throw notFound(`Artifact ${JSON.stringify(rawPath.slice(0, 200))}`);
    return { stream: await this.storage.get(found.uri), sizeBytes: found.sizeBytes };
  }

  /** The files and folders directly in a run's artifact folder (names relative to it, as MLflow lists them). */
  async listArtifacts(actor: Principal, rawPath: string): Promise<z.infer<typeof ZMlflowFileInfo>[]> {
    authorize(actor, 'models.read');
    const p = parseArtifactPath(rawPath);
    const run = await this.artifactRun(actor, p);
    const prefix = `${artifactKey(p)}/`;
    const objects = await this.storage.backend(this.backendOf(run)).list(prefix, LIST_LIMIT);
    const out = new Map<string, z.infer<typeof ZMlflowFileInfo>>();
    for (const o of objects) {
      const rel = o.key.slice(prefix.length);
      const slash = rel.indexOf('/');
      if (slash < 0) out.set(rel, { path: rel, is_dir: false, file_size: o.sizeBytes });
      else if (!out.has(rel.slice(0, slash))) out.set(rel.slice(0, slash), { path: rel.slice(0, slash), is_dir: true });
    }
    return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  async deleteArtifact(actor: Principal, rawPath: string): Promise<void> {
    authorize(actor, 'models.write');
    const p = parseArtifactPath(rawPath);
    const run = await this.artifactRun(actor, p);
    const found = await this.findObject(run, p);
    if (!found) throw notFound(`Artifact ${JSON.stringify(rawPath.slice(0, 200))}`);
    await this.storage.delete(found.uri);
  }

  /** The stored object at exactly this path (listing by prefix is how a key becomes a URI on every backend). */
  async findObject(run: MlflowRunRow, p: ArtifactPath) {
    const key = artifactKey(p);
    const objects = await this.storage.backend(this.backendOf(run)).list(key, 50);
    return objects.find((o) => o.key === key) ?? null;
  }

  async artifactRun(actor: Principal, p: ArtifactPath): Promise<MlflowRunRow> {
    const run = await this.run(actor, p.runId);
    if (run.experimentId !== p.experimentId) throw notFound(`Run ${p.runId} in experiment ${p.experimentId}`);
    return run;
  }

  private backendOf(run: MlflowRunRow): StorageKind {
    return run.artifactBackend as StorageKind;
  }
}

function toRun(r: MlflowRunRow): TMlflowRun {
  const metrics = r.metrics as Record<string, { value: number | string; timestamp: number; step: number }>;
  return {
    info: {
      run_id: r.id,
      run_uuid: r.id,
      run_name: r.name,
      experiment_id: r.experimentId,
      user_id: r.createdByName ?? r.createdByKind,
      status: r.status,
      start_time: Number(r.startTime),
      ...(r.endTime !== null && { end_time: Number(r.endTime) }),
      artifact_uri: runArtifactUri(r.experimentId, r.id),
      lifecycle_stage: 'active',
    },
    data: {
      metrics: Object.entries(metrics).map(([key, m]) => ({ key, ...m, value: Number(m.value) })),
      params: Object.entries(r.params as Record<string, string>).map(([key, value]) => ({ key, value })),
      tags: Object.entries(r.tags as Record<string, string>).map(([key, value]) => ({ key, value })),
    },
  };
}
