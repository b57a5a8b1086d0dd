import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  type Stage,
  type TApproval,
  type TCreateModelRequest,
  type THistoryEntry,
  type TListModelsQuery,
  type TModelVersion,
  type TRegisteredModel,
  type TRegisterVersionSpec,
  type TSetAliasRequest,
  type TStageTransitionRequest,
  type TStageTransitionResult,
  type TUpdateModelRequest,
} from '@modelyard/contracts';
import { RegistryRepository, type ActorColumns } from './registry.repository.js';
import { asJson } from '../db/json.js';
import { toApprovalResponse, toHistoryResponse, toModelResponse, toVersionResponse } from './registry.mappers.js';
import { ARTIFACT_STORE, MODEL_JOBS, type ArtifactStore, type ModelJobs, type StorageKind } from './ports.js';
import { authorize, authorizeModel, can, type Principal } from '../auth/principal.js';
import { checkStorageReference, platformHome } from '../tenancy/storage-scope.js';
import { isUniqueViolation } from '../db/errors.js';
import { DomainEvents } from '../events/domain-events.js';
import { ProjectQuotas } from '../projects/quotas.service.js';
import { decodeCursor, pageFrom } from '../platform/cursor.js';
import { AppError, conflict, forbidden, notFound } from '../platform/errors.js';
import { LOGGER } from '../platform/tokens.js';
import { inProject, keyFor, modelNameOf, projectOfKey } from '../tenancy/model-key.js';

export const actorColumns = (p: Principal): ActorColumns => ({
  kind: p.kind,
  id: p.kind === 'system' ? null : p.id,
  name: p.name,
});

export interface UploadedArtifact {
  stream: Readable;
  filename?: string;
}

@Injectable()
export class RegistryService {
  constructor(
    private readonly repo: RegistryRepository,
    private readonly events: DomainEvents,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly quotas: ProjectQuotas,
    @Inject(MODEL_JOBS) private readonly jobs: ModelJobs,
  ) {}

  // ---------------------------------------------------------------- models

  async listModels(
    actor: Principal,
    q: TListModelsQuery,
  ): Promise<{ items: TRegisteredModel[]; nextCursor: string | null }> {
    authorize(actor, 'models.read');
    const rows = await this.repo.listModels({
      projectId: actor.project?.id,
      search: q.search,
      limit: q.limit,
      before: decodeCursor(q.cursor),
      names: actor.modelAllowList.length ? actor.modelAllowList.map((n) => keyFor(actor, n)) : undefined,
    });
    const page = pageFrom(rows, q.limit, (r) => ({ at: r.updatedAt, id: r.id }));
    return { items: page.items.map(toModelResponse), nextCursor: page.nextCursor };
  }

  async getModel(actor: Principal, name: string): Promise<TRegisteredModel> {
    name = keyFor(actor, name);
    authorize(actor, 'models.read');
    return toModelResponse(await this.model(actor, name));
  }

  async createModel(actor: Principal, req: TCreateModelRequest): Promise<TRegisteredModel> {
    authorize(actor, 'models.write');
    authorizeModel(actor, req.name);
    return toModelResponse(await this.insertModel(actor, keyFor(actor, req.name), req));
  }

  /** A new model of key `key` in the actor's project (the system creates none). */
  private async insertModel(actor: Principal, key: string, req: TCreateModelRequest) {
    if (!actor.project) throw new AppError('FORBIDDEN', 'Models are created in a project');
    const projectId = actor.project.id;
    return this.events
      .change(
        actor,
        async () => {
          const row = await this.repo.createModel({
            project: { connect: { id: projectId } },
            name: key,
            description: req.description,
            tags: req.tags,
            requiresApproval: req.requiresApproval,
            ownerKind: actor.kind,
            ownerId: actor.kind === 'system' ? null : actor.id,
            ownerName: actor.name,
          });
          await this.repo.addHistory(row.id, actorColumns(actor), {
            versionNumber: null,
            kind: 'model',
            to: 'created',
          });
          return row;
        },
        (row) => ({ type: 'model.created', objectId: row.id, data: { model: row.name } }),
      )
      .catch((e: unknown) => {
        throw isUniqueViolation(e) ? conflict(`A model named ${req.name} already exists`) : e;
      });
  }

  async updateModel(actor: Principal, name: string, req: TUpdateModelRequest): Promise<TRegisteredModel> {
    name = keyFor(actor, name);
    // Turning the approval policy off would let a single approver promote: that is a promote-level decision.
    authorize(actor, req.requiresApproval === false ? 'models.promote' : 'models.write');
    const before = await this.model(actor, name);
    const m = await this.events.change(
      actor,
      () =>
        this.repo.updateModel(name, {
          description: req.description,
          tags: req.tags,
          requiresApproval: req.requiresApproval,
          servingConfig: req.servingConfig === undefined ? undefined : asJson(req.servingConfig),
        }),
      (row) => ({
        type: 'model.updated',
        objectId: row.id,
        data: {
          model: name,
          before: { requiresApproval: before.requiresApproval, servingConfig: before.servingConfig },
          after: { requiresApproval: row.requiresApproval, servingConfig: row.servingConfig },
        },
      }),
    );
    return toModelResponse(m);
  }

  async deleteModel(actor: Principal, name: string): Promise<void> {
    name = keyFor(actor, name);
    authorize(actor, 'models.promote');
    const m = await this.model(actor, name);
    if (m.versions.some((v) => v.stage === 'Production')) {
      throw conflict(`Model ${name} has a version in Production; archive it before deleting the model`);
    }
    const versions = await this.repo.listVersions(m.id);
    // Its jobs go with it (their rows cascade): their files too, and only once none of them is still working.
    const jobFiles = await this.events.change(
      actor,
      async () => {
        await this.repo.lockModel(m.id);
        const active = await this.jobs.activeCount(m.id);
        if (active > 0)
          throw conflict(
            `Model ${name} has ${active} queued or running job(s); cancel them (or let them finish) before deleting the model`,
          );
        const files = await this.jobs.files(m.id);
        await this.repo.deleteModel(m.id);
        return files;
      },
      () => ({
        type: 'model.deleted',
        objectId: m.id,
        data: { model: name, versions: versions.length },
      }),
    );
    for (const v of versions) await this.deleteBlobs(v);
    await this.removeFiles(jobFiles);
  }

  // ---------------------------------------------------------------- versions

  /**
   * Registers a version from an upload (streamed into storage, never buffered) or from an artifact already in
   * storage. The version starts `pending`; the worker validates it (registry.validate). A failed upload leaves
   * neither a row nor a blob behind.
   */
  async registerVersion(
    actor: Principal,
    name: string,
    spec: TRegisterVersionSpec,
    upload: UploadedArtifact | null,
  ): Promise<TModelVersion> {
    authorize(actor, 'models.write');
    name = keyFor(actor, name);
    authorizeModel(actor, name);
    if (!!upload === !!spec.artifactUri) {
      throw new AppError(
        'VALIDATION_FAILED',
        upload
          ? 'Send either a file or artifactUri, not both'
          : 'Send the model as a multipart `file` part, or give artifactUri',
      );
    }
    if (spec.reference) checkReference(spec.reference);
    // Early, so an over-quota upload is refused before (or while) it streams, not after it is stored.
    const room = actor.project ? await this.quotas.roomForVersion(actor.project.id) : null;
    const folder = modelFolder(name, randomUUID());
    const written: string[] = [];
    try {
      let artifact: {
        backend: StorageKind;
        uri: string;
        owned: boolean;
        sha256: string | null;
        sizeBytes: number | null;
      };
      if (upload) {
        const backend = spec.backend ?? this.store.defaultBackend();
        const limit = this.store.maxUploadBytes();
        const byQuota = room !== null && room.bytesLeft < limit;
        // Past the quota's room the write stops and stores nothing (meteredWrite), like past MAX_UPLOAD_BYTES.
        const put = await this.store
          .put(backend, `${folder}/model.onnx`, upload.stream, {
            maxBytes: byQuota ? room.bytesLeft : limit,
            contentType: 'application/octet-stream',
          })
          .catch((e: unknown) => {
            throw byQuota && e instanceof AppError && e.code === 'PAYLOAD_TOO_LARGE' ? room.refusal() : e;
          });
        written.push(put.uri);
        artifact = { backend, uri: put.uri, owned: true, sha256: put.sha256, sizeBytes: put.sizeBytes };
      } else {
        const uri = spec.artifactUri!;
        const backend = this.store.backendOf(uri);
        checkStorageReference(actor, this.store.locate(uri), 'artifactUri', this.store.importPrefixes());
        const stat = await this.store.stat(uri);
        if (!stat) throw new AppError('VALIDATION_FAILED', `No artifact at ${uri}`);
        if (stat.sizeBytes > this.store.maxUploadBytes())
          throw new AppError(
            'PAYLOAD_TOO_LARGE',
            `The artifact is ${stat.sizeBytes} bytes; the limit is ${this.store.maxUploadBytes()}`,
          );
        artifact = { backend, uri, owned: false, sha256: null, sizeBytes: stat.sizeBytes };
      }
      let referenceUri: string | null = null;
      if (spec.reference) {
        const body = Buffer.from(JSON.stringify(spec.reference));
        const { Readable } = await import('node:stream');
        const put = await this.store.put(
          artifact.owned ? artifact.backend : this.store.defaultBackend(),
          `${folder}/reference.json`,
          Readable.from([body]),
          { maxBytes: this.store.maxUploadBytes(), contentType: 'application/json' },
        );
        written.push(put.uri);
        referenceUri = put.uri;
      }
      // Only now, with the bytes safely stored, may a new name become a model.
      const model = (await this.repo.findModel(name)) ?? (await this.autoCreate(actor, name));
      const v = await this.events.change(
        actor,
        async () => {
          // In the transaction that allocates the number, on the project's locked row: race-safe.
          await this.quotas.admitVersion(model.projectId, artifact.owned ? (artifact.sizeBytes ?? 0) : 0);
          return this.repo.createVersion(
            model.id,
            {
              status: 'pending',
              stage: 'None',
              description: spec.description,
              storageBackend: artifact.backend,
              storageUri: artifact.uri,
              ownedArtifact: artifact.owned,
              sha256: artifact.sha256,
              sizeBytes: artifact.sizeBytes === null ? null : BigInt(artifact.sizeBytes),
              signatureOverride: spec.signature ? asJson(spec.signature) : undefined,
              metadata: asJson(spec.metadata),
              tags: spec.tags,
              metrics: spec.metrics,
              lineage: spec.lineage,
              sampleInput: spec.sampleInput ? asJson(spec.sampleInput) : undefined,
              referenceUri,
              createdByKind: actor.kind,
              createdById: actor.kind === 'system' ? null : actor.id,
              createdByName: actor.name,
              createdByKeyId: actor.apiKeyId,
            },
            actorColumns(actor),
          );
        },
        (row) => ({
          type: 'version.created',
          objectId: row.id,
          data: { model: name, version: row.number, uri: row.storageUri },
        }),
      );
      written.length = 0; // the row owns the blobs now
      return toVersionResponse(v);
    } finally {
      for (const uri of written)
        await this.store
          .delete(uri)
          .catch((err: unknown) => this.log.error({ err, uri }, 'could not remove a partial upload'));
    }
  }

  async listVersions(actor: Principal, name: string): Promise<TModelVersion[]> {
    name = keyFor(actor, name);
    authorize(actor, 'models.read');
    const m = await this.model(actor, name);
    return (await this.repo.listVersions(m.id)).map(toVersionResponse);
  }

  async getVersion(actor: Principal, name: string, number: number): Promise<TModelVersion> {
    name = keyFor(actor, name);
    authorize(actor, 'models.read');
    return toVersionResponse(await this.version(actor, name, number));
  }

  async updateVersion(
    actor: Principal,
    name: string,
    number: number,
    req: { description?: string; tags?: Record<string, string>; metrics?: Record<string, number> },
  ): Promise<TModelVersion> {
    name = keyFor(actor, name);
    authorize(actor, 'models.write');
    const v = await this.version(actor, name, number);
    const updated = await this.events.change(
      actor,
      () => this.repo.updateVersion(v.id, { description: req.description, tags: req.tags, metrics: req.metrics }),
      () => ({ type: 'version.updated', objectId: v.id, data: { model: name, version: number } }),
    );
    return toVersionResponse(updated);
  }

  /** The artifact as registered, streamed, with what a client needs to verify it. */
  async download(actor: Principal, name: string, number: number) {
    name = keyFor(actor, name);
    authorize(actor, 'models.read');
    const v = await this.version(actor, name, number);
    if (v.status === 'failed' && v.ownedArtifact)
      throw new AppError('NOT_FOUND', `Version ${number} failed validation; its artifact was removed`);
    return {
      stream: await this.store.get(v.storageUri),
      sha256: v.sha256,
      sizeBytes: v.sizeBytes === null ? null : Number(v.sizeBytes),
      filename: `${name}-v${number}.onnx`,
    };
  }

  async deleteVersion(actor: Principal, name: string, number: number): Promise<void> {
    name = keyFor(actor, name);
    authorize(actor, 'models.write');
    const v = await this.version(actor, name, number);
    if (v.stage === 'Production')
      throw conflict(`Version ${number} is in Production; archive it (or promote another) first`);
    if (v.aliases.length)
      throw conflict(
        `Version ${number} is the target of alias(es) ${v.aliases.map((a) => a.name).join(', ')}; move them first`,
      );
    const dep = (await this.repo.currentDeployment(v.modelId))?.config as
      { production?: { version?: number }; pilots?: { version: number }[]; silent?: { version: number }[] } | undefined;
    if (
      dep &&
      (dep.production?.version === number ||
        dep.pilots?.some((p) => p.version === number) ||
        dep.silent?.some((x) => x.version === number))
    ) {
      throw conflict(`Version ${number} is part of the current deployment; change the deployment first`);
    }
    await this.events.change(
      actor,
      async () => {
        await this.repo.deleteVersion(v.id);
        await this.repo.addHistory(v.modelId, actorColumns(actor), {
          versionNumber: number,
          kind: 'version',
          from: v.stage,
          to: 'deleted',
        });
      },
      () => ({ type: 'version.deleted', objectId: v.id, data: { model: name, version: number } }),
    );
    await this.deleteBlobs(v);
  }

  // ---------------------------------------------------------------- stages and approvals

  /**
   * Stage rules: scientists (models.write) move versions between None, Staging and Archived; anything that
   * enters or leaves Production needs an approver (models.promote). With the model's `requiresApproval`
   * policy, entering Production always goes through a request a second approver accepts.
   */
  async transition(
    actor: Principal,
    name: string,
    number: number,
    req: TStageTransitionRequest,
  ): Promise<TStageTransitionResult> {
    name = keyFor(actor, name);
    authorize(actor, 'models.write');
    const v = await this.version(actor, name, number);
    const model = await this.model(actor, name);
    if (v.stage === req.stage) throw conflict(`Version ${number} is already in ${req.stage}`);
    if ((req.stage === 'Production' || req.stage === 'Staging') && v.status !== 'ready') {
      throw conflict(
        `Version ${number} is ${v.status}${v.failureReason ? ` (${v.failureReason})` : ''}; only ready versions can go to ${req.stage}`,
      );
    }
    if (req.stage === 'Production' && model.requiresApproval) {
      if (await this.repo.pendingApprovalFor(v.id, 'Production'))
        throw conflict(`An approval request for version ${number} is already pending`);
      const a = await this.events.change(
        actor,
        async () => {
          const row = await this.repo.createApproval({
            modelId: model.id,
            versionId: v.id,
            toStage: 'Production',
            archivePrevious: req.archivePrevious,
            comment: req.comment,
            requestedByKind: actor.kind,
            requestedById: actor.kind === 'system' ? null : actor.id,
            requestedByName: actor.name,
          });
          await this.repo.addHistory(model.id, actorColumns(actor), {
            versionNumber: number,
            kind: 'approval',
            from: v.stage,
            to: 'requested:Production',
            comment: req.comment,
          });
          return row;
        },
        (row) => ({
          type: 'approval.requested',
          objectId: row.id,
          data: { model: name, version: number, approvalId: row.id },
        }),
      );
      return { outcome: 'approval_requested', version: toVersionResponse(v), archived: [], approvalRequestId: a.id };
    }
    if (req.stage === 'Production' || v.stage === 'Production') {
      if (!can(actor, 'models.promote')) {
        throw forbidden(
          `Moving a version ${req.stage === 'Production' ? 'into' : 'out of'} Production needs the approver role and the models:promote scope`,
        );
      }
    }
    return this.applyTransition(actor, model.id, name, v.id, req.stage, req.archivePrevious, req.comment);
  }

  private async applyTransition(
    actor: Principal,
    modelId: string,
    name: string,
    versionId: string,
    stage: Stage,
    archivePrevious: boolean,
    comment: string,
  ): Promise<TStageTransitionResult> {
    const r = await this.events.change(
      actor,
      () => this.repo.transition(modelId, versionId, stage, archivePrevious, actorColumns(actor), comment),
      (r) => [
        ...r.archived.map((o) => ({
          type: 'version.stage_changed' as const,
          objectId: o.id,
          data: {
            model: name,
            version: o.number,
            from: 'Production',
            to: 'Archived',
            comment: `archived by the promotion of version ${r.version.number}`,
          },
        })),
        {
          type: 'version.stage_changed',
          objectId: versionId,
          data: { model: name, version: r.version.number, from: r.from, to: stage, comment },
        },
      ],
    );
    return {
      outcome: 'transitioned',
      version: toVersionResponse(r.version),
      archived: r.archived.map((o) => o.number),
      approvalRequestId: null,
    };
  }

  async listApprovals(
    actor: Principal,
    q: { status?: 'pending' | 'approved' | 'rejected' | 'cancelled'; model?: string },
  ): Promise<TApproval[]> {
    authorize(actor, 'models.read');
    const rows = await this.repo.listApprovals(actor.project?.id, q.status, q.model && keyFor(actor, q.model));
    return rows
      .filter((r) => !actor.modelAllowList.length || actor.modelAllowList.includes(modelNameOf(r.model.name)))
      .map(toApprovalResponse);
  }

  async decideApproval(actor: Principal, id: string, approve: boolean, comment: string): Promise<TApproval> {
    authorize(actor, 'models.promote');
    const a = await this.repo.findApproval(id);
    if (!a || !inProject(actor, a.model.name)) throw notFound('Approval request');
    authorizeModel(actor, a.model.name);
    if (a.status !== 'pending') throw conflict(`This request was already ${a.status}`);
    if (approve && a.requestedById && a.requestedById === actor.id) {
      throw forbidden('A second approver must accept this request: you requested it');
    }
    await this.events.change(
      actor,
      async () => {
        const { count } = await this.repo.decideApproval(id, {
          status: approve ? 'approved' : 'rejected',
          decidedByKind: actor.kind,
          decidedById: actor.kind === 'system' ? null : actor.id,
          decidedByName: actor.name,
          decisionComment: comment,
        });
        if (count === 0) throw conflict('This request was decided by someone else a moment ago');
        await this.repo.addHistory(a.modelId, actorColumns(actor), {
          versionNumber: a.version.number,
          kind: 'approval',
          from: 'requested:Production',
          to: approve ? 'approved' : 'rejected',
          comment,
        });
      },
      () => ({
        type: 'approval.decided',
        objectId: id,
        data: { model: a.model.name, version: a.version.number, approvalId: id, approved: approve },
      }),
    );
    if (approve) {
      const v = await this.repo.findVersionById(a.version.id);
      if (!v || v.status !== 'ready') throw conflict('The version is no longer ready; nothing was promoted');
      await this.applyTransition(
        actor,
        a.modelId,
        a.model.name,
        a.version.id,
        a.toStage,
        a.archivePrevious,
        comment || `approved request ${id}`,
      );
    }
    return toApprovalResponse((await this.repo.findApproval(id))!);
  }

  // ---------------------------------------------------------------- aliases and history

  async setAlias(actor: Principal, name: string, alias: string, req: TSetAliasRequest): Promise<TRegisteredModel> {
    name = keyFor(actor, name);
    authorize(actor, 'models.write');
    const v = await this.version(actor, name, req.version);
    if (v.status === 'failed') throw conflict(`Version ${req.version} failed validation and cannot carry an alias`);
    const before = await this.repo.findAlias(v.modelId, alias);
    if (before?.versionId === v.id) return toModelResponse(await this.model(actor, name));
    // An alias that exists may be serving traffic (/aliases/{a}/predict, TF Serving labels): moving it is a
    // promotion, so it needs what Production needs. A new alias serves no one yet.
    if (before) authorize(actor, 'models.promote');
    await this.events.change(
      actor,
      () =>
        this.repo.setAlias(v.modelId, alias, v.id, actorColumns(actor), {
          versionNumber: req.version,
          kind: 'alias',
          from: before ? `${alias}@${before.version.number}` : null,
          to: `${alias}@${req.version}`,
          comment: req.comment,
        }),
      () => ({
        type: 'alias.set',
        objectId: v.modelId,
        data: { model: name, alias, from: before?.version.number ?? null, to: req.version },
      }),
    );
    return toModelResponse(await this.model(actor, name));
  }

  async deleteAlias(actor: Principal, name: string, alias: string, comment = ''): Promise<TRegisteredModel> {
    name = keyFor(actor, name);
    authorize(actor, 'models.write');
    const m = await this.model(actor, name);
    const before = await this.repo.findAlias(m.id, alias);
    if (!before) throw notFound(`Alias ${alias}`);
    authorize(actor, 'models.promote');
    await this.events.change(
      actor,
      () =>
        this.repo.deleteAlias(m.id, alias, actorColumns(actor), {
          versionNumber: before.version.number,
          kind: 'alias',
          from: `${alias}@${before.version.number}`,
          to: null,
          comment,
        }),
      () => ({
        type: 'alias.deleted',
        objectId: m.id,
        data: { model: name, alias, from: before.version.number, to: null },
      }),
    );
    return toModelResponse(await this.model(actor, name));
  }

  async history(actor: Principal, name: string, limit = 500): Promise<THistoryEntry[]> {
    name = keyFor(actor, name);
    authorize(actor, 'models.read');
    const m = await this.model(actor, name);
    return (await this.repo.history(m.id, Math.min(Math.max(limit, 1), 2000))).map(toHistoryResponse);
  }

  // ---------------------------------------------------------------- helpers

  private async model(actor: Principal, name: string) {
    authorizeModel(actor, name);
    const m = await this.repo.findModel(name);
    if (!m) throw notFound(`Model ${name}`);
    return m;
  }

  private async version(actor: Principal, name: string, number: number) {
    authorizeModel(actor, name);
    const v = await this.repo.findVersion(name, number);
    if (!v) {
      if (!(await this.repo.findModel(name))) throw notFound(`Model ${name}`);
      throw notFound(`Version ${number} of ${name}`);
    }
    return v;
  }

  /** CI pipelines register into a name that may not exist yet, as with MLflow's registered models. */
  private async autoCreate(actor: Principal, key: string) {
    const req = { name: modelNameOf(key), description: '', tags: {}, requiresApproval: false };
    await this.insertModel(actor, key, req).catch((e: unknown) => {
      if (!(e instanceof AppError && e.code === 'CONFLICT')) throw e;
    });
    return (await this.repo.findModel(key))!;
  }

  private async deleteBlobs(v: {
    ownedArtifact: boolean;
    storageUri: string;
    servingUri: string | null;
    referenceUri: string | null;
  }) {
    await this.removeFiles([
      v.ownedArtifact ? v.storageUri : null,
      v.servingUri !== v.storageUri ? v.servingUri : null,
      v.referenceUri,
    ]);
  }

  /** Files whose rows are gone: nobody can reach them any more, so one that cannot be removed now is only logged. */
  private async removeFiles(uris: readonly (string | null)[]) {
    for (const { uri, err } of await this.store.deleteAll(uris))
      this.log.error({ err, uri }, 'could not delete a blob');
  }
}

function checkReference(ref: { feature_names: string[]; rows: unknown[][] }) {
  const width = ref.feature_names.length;
  const bad = ref.rows.findIndex((r) => r.length !== width);
  if (bad >= 0)
    throw new AppError(
      'VALIDATION_FAILED',
      `reference.rows[${bad}] has ${ref.rows[bad]!.length} values; feature_names has ${width}`,
    );
}

/** A version's own folder (its upload, reference rows, serving copy): under its project's platformHome. */
export const modelFolder = (modelKey: string, id: string) =>
  `${platformHome(projectOfKey(modelKey))}models/${modelNameOf(modelKey)}/${id}`;
