import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import {
  STAGES,
  ZAliasName,
  ZModelName,
  ZRegisterVersionSpec,
  ZTags,
  type Stage,
  type TMlflowModelVersion,
  type TMlflowRegisteredModel,
  type TModelVersion,
  type TRegisteredModel,
  type ZMlflowCreateModelVersion,
  type ZMlflowCreateRegisteredModel,
  type ZMlflowSearchQuery,
} from '@modelyard/contracts';
import type { Principal } from '../auth/principal.js';
import { AppError, notFound } from '../platform/errors.js';
import { RegistryService } from '../registry/registry.service.js';
import { StorageService } from '../storage/storage.service.js';
import { artifactPathOfSource, parseArtifactPath, runArtifactUri, type ArtifactPath } from './mlflow-artifacts.js';
import { invalidParameter, matches, parseFilter } from './mlflow-filter.js';
import { MlflowTrackingService } from './mlflow-tracking.service.js';
import { MAX_MLMODEL_BYTES, onnxDataFile } from './mlmodel.js';

type SearchQuery = z.output<typeof ZMlflowSearchQuery>;
/** How many models a search or a version search without a name looks through. */
const MAX_SCAN = 10_000;
const MODEL_KEYS = new Set(['name']);
const VERSION_KEYS = new Set(['name', 'run_id', 'source_path', 'version_number']);
const STATUS = { pending: 'PENDING_REGISTRATION', ready: 'READY', failed: 'FAILED_REGISTRATION' } as const;

const invalidState = (message: string) => new AppError('CONFLICT', message, { mlflowErrorCode: 'INVALID_STATE' });

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw invalidParameter(
    `Invalid ${what} ${JSON.stringify(value)}: ${r.error.issues.map((i) => i.message).join('; ')}`,
  );
}

const modelName = (raw: string) => parsed(ZModelName, raw, 'registered model name');
const tagRecord = (tags: { key: string; value: string }[]) =>
  parsed(ZTags, Object.fromEntries(tags.map((t) => [t.key, t.value])), 'tags');
const toTags = (t: Record<string, string>) => Object.entries(t).map(([key, value]) => ({ key, value }));

export function toMlflowVersion(v: TModelVersion): TMlflowModelVersion {
  return {
    name: v.model,
    version: String(v.version),
    creation_timestamp: Date.parse(v.createdAt),
    last_updated_timestamp: Date.parse(v.readyAt ?? v.createdAt),
    user_id: v.createdBy.name ?? v.createdBy.kind,
    current_stage: v.stage,
    description: v.description,
    source: v.lineage.mlflowSource ?? '',
    run_id: v.lineage.sourceRunId ?? '',
    status: STATUS[v.status],
    status_message: v.failureReason ?? '',
    tags: toTags(v.tags),
    aliases: v.aliases,
  };
}

/** MLflow's `latest_versions`: the newest version in each stage asked for. */
function latest(versions: TModelVersion[], stages: readonly Stage[] = STAGES): TModelVersion[] {
  return stages
    .map((s) => versions.filter((v) => v.stage === s).sort((a, b) => b.version - a.version)[0])
    .filter((v) => v !== undefined);
}

export function toMlflowModel(m: TRegisteredModel, versions: TModelVersion[]): TMlflowRegisteredModel {
  return {
    name: m.name,
    creation_timestamp: Date.parse(m.createdAt),
    last_updated_timestamp: Date.parse(m.updatedAt),
    user_id: m.owner.name ?? m.owner.kind,
    description: m.description,
    latest_versions: latest(versions).map(toMlflowVersion),
    tags: toTags(m.tags),
    aliases: Object.entries(m.aliases).map(([alias, version]) => ({ alias, version: String(version) })),
  };
}

/** `page_token` is an offset into the sorted result, opaque to the client. */
const offsetOf = (token?: string) => {
  if (!token) return 0;
  const n = Number(Buffer.from(token, 'base64url').toString());
  if (!Number.isInteger(n) || n < 0) throw invalidParameter('Invalid page_token');
  return n;
};
const tokenOf = (offset: number) => Buffer.from(String(offset)).toString('base64url');

function sorter<T>(orderBy: string[], fields: Record<string, (x: T) => string | number>, fallback: string[]) {
  const keys = (orderBy.length ? orderBy : fallback).map((o) => {
    const m = /^\s*([\w.]+)(?:\s+(ASC|DESC))?\s*$/i.exec(o);
    const get = m && fields[m[1]!.replace(/^attributes\./, '')];
    if (!get) throw invalidParameter(`Invalid order_by ${JSON.stringify(o)}: use ${Object.keys(fields).join(', ')}`);
    return { get, sign: m[2]?.toUpperCase() === 'DESC' ? -1 : 1 };
  });
  return (a: T, b: T) => {
    for (const k of keys) {
      const x = k.get(a),
        y = k.get(b);
      if (x !== y) return (x < y ? -1 : 1) * k.sign;
    }
    return 0;
  };
}

/**
 * MLflow's model registry API over Modelyard's registry: every call goes through RegistryService, so the
 * permissions, model allow-lists, stage rules, approvals and audit (domain events) are the ones the native API
 * has. A version created from an MLflow source is the ONNX file its `MLmodel` names, copied through the normal
 * registration (upload limit, worker validation): PENDING_REGISTRATION until validated, then READY.
 */
@Injectable()
export class MlflowRegistryService {
  constructor(
    private readonly registry: RegistryService,
    private readonly tracking: MlflowTrackingService,
    private readonly storage: StorageService,
  ) {}

  // ---------------------------------------------------------------- registered models

  async createModel(actor: Principal, req: z.output<typeof ZMlflowCreateRegisteredModel>) {
    const name = modelName(req.name);
    const m = await this.registry.createModel(actor, {
      name,
      description: req.description,
      tags: tagRecord(req.tags),
      requiresApproval: false,
    });
    return toMlflowModel(m, []);
  }

  async getModel(actor: Principal, raw: string) {
    const name = modelName(raw);
    const m = await this.registry.getModel(actor, name);
    return toMlflowModel(m, await this.registry.listVersions(actor, name));
  }

  async updateModel(actor: Principal, raw: string, description?: string) {
    const name = modelName(raw);
    if (description !== undefined) await this.registry.updateModel(actor, name, { description });
    return this.getModel(actor, name);
  }

  async deleteModel(actor: Principal, raw: string) {
    await this.registry.deleteModel(actor, modelName(raw)).catch(stateError);
  }

  async setModelTag(actor: Principal, raw: string, key: string, value: string) {
    const name = modelName(raw);
    const m = await this.registry.getModel(actor, name);
    await this.registry.updateModel(actor, name, { tags: parsed(ZTags, { ...m.tags, [key]: value }, 'tags') });
  }

  async deleteModelTag(actor: Principal, raw: string, key: string) {
    const name = modelName(raw);
    const m = await this.registry.getModel(actor, name);
    if (!(key in m.tags)) throw notFound(`Tag ${JSON.stringify(key)} of model ${name}`);
    const { [key]: _gone, ...tags } = m.tags;
    await this.registry.updateModel(actor, name, { tags });
  }

  async searchModels(actor: Principal, q: SearchQuery) {
    const clauses = parseFilter(q.filter, MODEL_KEYS);
    const models = (await this.allModels(actor)).filter((m) =>
      matches(clauses, (k) => (k === 'name' ? m.name : k.startsWith('tags.') ? m.tags[k.slice(5)] : undefined)),
    );
    models.sort(
      sorter<TRegisteredModel>(
        q.order_by,
        {
          name: (m) => m.name,
          creation_timestamp: (m) => m.createdAt,
          last_updated_timestamp: (m) => m.updatedAt,
          timestamp: (m) => m.updatedAt,
        },
        ['name ASC'],
      ),
    );
    const offset = offsetOf(q.page_token);
    const max = Math.min(q.max_results ?? 100, 1000);
    const page = models.slice(offset, offset + max);
    const out = [];
    for (const m of page) out.push(toMlflowModel(m, await this.registry.listVersions(actor, m.name)));
    return {
      registered_models: out,
      ...(offset + max < models.length && { next_page_token: tokenOf(offset + max) }),
    };
  }

  async latestVersions(actor: Principal, raw: string, stages: string[]) {
    const name = modelName(raw);
    const wanted = stages.length ? stages.map(stageOf) : STAGES;
    return latest(await this.registry.listVersions(actor, name), wanted).map(toMlflowVersion);
  }

  // ---------------------------------------------------------------- model versions

  /**
   * `source` is where the model's files are: `mlflow-artifacts:/<experiment>/<run>/artifacts/<path>` or
   * `runs:/<run>/<path>` (a folder with an MLmodel whose onnx flavor names the file, or the .onnx file itself).
   */
  async createVersion(actor: Principal, req: z.output<typeof ZMlflowCreateModelVersion>) {
    const name = modelName(req.name);
    await this.registry.getModel(actor, name); // MLflow refuses a version of a model that does not exist
    const folder = await this.resolveSource(actor, req.source);
    const run = await this.tracking.artifactRun(actor, folder);
    let onnx: ArtifactPath = folder;
    if (!/\.onnx$/i.test(folder.rest)) {
      const mlmodelPath = { ...folder, rest: join(folder.rest, 'MLmodel') };
      const mlmodel = await this.tracking.findObject(run, mlmodelPath);
      if (!mlmodel) throw invalidParameter(`No MLmodel file at ${req.source}: log the model with mlflow.onnx first`);
      if (mlmodel.sizeBytes > MAX_MLMODEL_BYTES)
        throw invalidParameter(`The MLmodel file at ${req.source} is over ${MAX_MLMODEL_BYTES} bytes`);
      const { file, flavors } = onnxDataFile(await readText(await this.storage.get(mlmodel.uri), MAX_MLMODEL_BYTES));
      if (!file)
        throw invalidParameter(
          `The model at ${req.source} has no onnx flavor (it has ${flavors.join(', ') || 'none'}): Modelyard serves ONNX ` +
            'models, log it with mlflow.onnx.log_model or save_model',
        );
      onnx = parseArtifactPath(`${folder.experimentId}/${folder.runId}/artifacts/${join(folder.rest, file)}`);
    }
    const file = await this.tracking.findObject(run, onnx);
    if (!file) throw invalidParameter(`The ONNX file ${onnx.rest} of ${req.source} was not uploaded`);
    const spec = parsed(
      ZRegisterVersionSpec,
      {
        description: req.description,
        tags: tagRecord(req.tags),
        lineage: { sourceRunId: run.id, mlflowSource: req.source },
        metadata: { mlflow: { source: req.source, runId: run.id, ...(req.model_id && { modelId: req.model_id }) } },
      },
      'model version',
    );
    const v = await this.registry
      .registerVersion(actor, name, spec, { stream: await this.storage.get(file.uri), filename: 'model.onnx' })
      .catch(quotaError);
    return toMlflowVersion(v);
  }

  async getVersion(actor: Principal, raw: string, version: number) {
    return toMlflowVersion(await this.registry.getVersion(actor, modelName(raw), version));
  }

  async updateVersion(actor: Principal, raw: string, version: number, description?: string) {
    const name = modelName(raw);
    const v =
      description === undefined
        ? await this.registry.getVersion(actor, name, version)
        : await this.registry.updateVersion(actor, name, version, { description });
    return toMlflowVersion(v);
  }

  async deleteVersion(actor: Principal, raw: string, version: number) {
    await this.registry.deleteVersion(actor, modelName(raw), version).catch(stateError);
  }

  /**
   * MLflow's deprecated stages are Modelyard's stages, with its rules: Production needs an approver and, when the
   * model requires approval, becomes a request (the version answers still in its old stage).
   */
  async transition(actor: Principal, raw: string, version: number, stage: string, archiveExisting: boolean) {
    const name = modelName(raw);
    const r = await this.registry
      .transition(actor, name, version, { stage: stageOf(stage), comment: '', archivePrevious: archiveExisting })
      .catch(stateError);
    return toMlflowVersion(r.version);
  }

  async setVersionTag(actor: Principal, raw: string, version: number, key: string, value: string) {
    const name = modelName(raw);
    const v = await this.registry.getVersion(actor, name, version);
    await this.registry.updateVersion(actor, name, version, {
      tags: parsed(ZTags, { ...v.tags, [key]: value }, 'tags'),
    });
  }

  async deleteVersionTag(actor: Principal, raw: string, version: number, key: string) {
    const name = modelName(raw);
    const v = await this.registry.getVersion(actor, name, version);
    if (!(key in v.tags)) throw notFound(`Tag ${JSON.stringify(key)} of version ${version} of ${name}`);
    const { [key]: _gone, ...tags } = v.tags;
    await this.registry.updateVersion(actor, name, version, { tags });
  }

  async searchVersions(actor: Principal, q: SearchQuery) {
    const clauses = parseFilter(q.filter, VERSION_KEYS);
    // A name given exactly narrows the scan to those models; anything else looks at every visible model.
    const byName = clauses.find((c) => c.key === 'name' && (c.op === '=' || c.op === 'IN'));
    const names = byName
      ? byName.values.filter((n) => ZModelName.safeParse(n).success)
      : (await this.allModels(actor)).map((m) => m.name);
    const versions: TModelVersion[] = [];
    for (const n of names) {
      const list = await this.registry.listVersions(actor, n).catch((e: unknown) => {
        if (e instanceof AppError && e.code === 'NOT_FOUND') return [];
        throw e;
      });
      versions.push(...list);
    }
    const hits = versions.filter((v) =>
      matches(clauses, (k) => {
        if (k === 'name') return v.model;
        if (k === 'run_id') return v.lineage.sourceRunId;
        if (k === 'source_path') return v.lineage.mlflowSource;
        if (k === 'version_number') return String(v.version);
        return k.startsWith('tags.') ? v.tags[k.slice(5)] : undefined;
      }),
    );
    hits.sort(
      sorter<TModelVersion>(
        q.order_by,
        {
          name: (v) => v.model,
          version_number: (v) => v.version,
          creation_timestamp: (v) => v.createdAt,
          last_updated_timestamp: (v) => v.readyAt ?? v.createdAt,
        },
        ['name ASC', 'version_number DESC'],
      ),
    );
    const offset = offsetOf(q.page_token);
    const max = Math.min(q.max_results ?? 10_000, 10_000);
    return {
      model_versions: hits.slice(offset, offset + max).map(toMlflowVersion),
      ...(offset + max < hits.length && { next_page_token: tokenOf(offset + max) }),
    };
  }

  /** Where an MLflow client downloads the version's files from: the artifact folder it was registered from. */
  async downloadUri(actor: Principal, raw: string, version: number) {
    const name = modelName(raw);
    const v = await this.registry.getVersion(actor, name, version);
    const source = v.lineage.mlflowSource;
    if (!source)
      throw notFound(
        `Version ${version} of ${name} has no MLflow artifacts (it was not registered through MLflow); ` +
          `download its ONNX file from /v1/models/${name}/versions/${version}/artifact`,
      );
    const p = await this.resolveSource(actor, source);
    return `${runArtifactUri(p.experimentId, p.runId)}${p.rest ? `/${p.rest}` : ''}`;
  }

  // ---------------------------------------------------------------- aliases

  async setAlias(actor: Principal, raw: string, alias: string, version: number) {
    await this.registry
      .setAlias(actor, modelName(raw), parsed(ZAliasName, alias, 'alias'), { version, comment: '' })
      .catch(stateError);
  }

  async deleteAlias(actor: Principal, raw: string, alias: string) {
    await this.registry.deleteAlias(actor, modelName(raw), parsed(ZAliasName, alias, 'alias'));
  }

  async versionByAlias(actor: Principal, raw: string, alias: string) {
    const name = modelName(raw);
    const m = await this.registry.getModel(actor, name);
    const version = m.aliases[alias];
    if (version === undefined) throw notFound(`Alias ${JSON.stringify(alias.slice(0, 64))} of model ${name}`);
    return toMlflowVersion(await this.registry.getVersion(actor, name, version));
  }

  // ---------------------------------------------------------------- helpers

  private async allModels(actor: Principal): Promise<TRegisteredModel[]> {
    const out: TRegisteredModel[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.registry.listModels(actor, { limit: 200, cursor });
      out.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && out.length < MAX_SCAN);
    return out;
  }

  private async resolveSource(actor: Principal, source: string): Promise<ArtifactPath> {
    const runs = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(source);
    if (runs) {
      const run = await this.tracking.run(actor, runs[1]);
      return parseArtifactPath(`${run.experimentId}/${run.id}/artifacts/${runs[2] ?? ''}`);
    }
    const path = artifactPathOfSource(source);
    if (path) return parseArtifactPath(path);
    throw invalidParameter(
      `Unsupported source ${JSON.stringify(source.slice(0, 200))}: Modelyard registers from runs:/<run_id>/<path> or ` +
        'mlflow-artifacts:/<experiment>/<run_id>/artifacts/<path> (MLflow 3 logged models, models:/m-..., are not supported)',
    );
  }
}

function stageOf(raw: string): Stage {
  const s = STAGES.find((x) => x.toLowerCase() === raw.trim().toLowerCase());
  if (!s) throw invalidParameter(`Invalid stage ${JSON.stringify(raw.slice(0, 40))}: use ${STAGES.join(', ')}`);
  return s;
}

/** A project quota's refusal (its details name the quota) in MLflow's words; status and details kept. */
function quotaError(e: unknown): never {
  const details = e instanceof AppError ? (e.details as { quota?: unknown } | undefined) : undefined;
  if (e instanceof AppError && details?.quota)
    throw new AppError(e.code, e.message, { ...details, mlflowErrorCode: 'RESOURCE_LIMIT_EXCEEDED' });
  throw e;
}

/** The registry's conflicts here are about state (a version in Production, a failed version), not duplicates. */
function stateError(e: unknown): never {
  if (e instanceof AppError && e.code === 'CONFLICT' && e.details === undefined) throw invalidState(e.message);
  throw e;
}

const join = (a: string, b: string) => (a ? `${a}/${b}` : b);

async function readText(stream: Readable, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > max) {
      stream.destroy();
      throw invalidParameter(`The MLmodel file is over ${max} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
