import type { TApproval, THistoryEntry, TModelVersion, TRegisteredModel } from '@modelyard/contracts';
import type { RegistryRepository } from './registry.repository.js';
import { modelNameOf } from '../tenancy/model-key.js';

type ModelRow = NonNullable<Awaited<ReturnType<RegistryRepository['findModel']>>>;
type VersionRow = NonNullable<Awaited<ReturnType<RegistryRepository['findVersionById']>>>;
type HistoryRow = Awaited<ReturnType<RegistryRepository['history']>>[number];
type ApprovalRow = Awaited<ReturnType<RegistryRepository['listApprovals']>>[number];

export const toModelResponse = (m: ModelRow): TRegisteredModel => ({
  id: m.id,
  name: modelNameOf(m.name),
  description: m.description,
  tags: m.tags as Record<string, string>,
  owner: { kind: m.ownerKind, id: m.ownerId, name: m.ownerName },
  requiresApproval: m.requiresApproval,
  servingConfig: (m.servingConfig ?? {}) as TRegisteredModel['servingConfig'],
  latestVersion: m.versions[0]?.number ?? null,
  productionVersion: m.versions.find((v) => v.stage === 'Production')?.number ?? null,
  stagingVersions: m.versions.filter((v) => v.stage === 'Staging').map((v) => v.number),
  aliases: Object.fromEntries(m.aliases.map((a) => [a.name, a.version.number])),
  createdAt: m.createdAt.toISOString(),
  updatedAt: m.updatedAt.toISOString(),
});

export const toVersionResponse = (v: VersionRow): TModelVersion => ({
  id: v.id,
  model: modelNameOf(v.model.name),
  version: v.number,
  status: v.status,
  failureReason: v.failureReason,
  stage: v.stage,
  aliases: v.aliases.map((a) => a.name).sort(),
  description: v.description,
  storage: {
    backend: v.storageBackend as TModelVersion['storage']['backend'],
    uri: v.storageUri,
    servingUri: v.servingUri,
    owned: v.ownedArtifact,
  },
  sha256: v.sha256,
  sizeBytes: v.sizeBytes === null ? null : Number(v.sizeBytes),
  signature: (v.signature as Record<string, unknown> | null) ?? null,
  metadata: v.metadata as Record<string, unknown>,
  tags: v.tags as Record<string, string>,
  metrics: v.metrics as Record<string, number>,
  lineage: v.lineage as Record<string, string>,
  sampleInput: v.sampleInput ?? null,
  sampleOutput: v.sampleOutput ?? null,
  hasReference: v.referenceUri !== null,
  createdBy: { kind: v.createdByKind, id: v.createdById, name: v.createdByName, apiKeyId: v.createdByKeyId },
  createdAt: v.createdAt.toISOString(),
  readyAt: v.readyAt?.toISOString() ?? null,
});

export const toHistoryResponse = (h: HistoryRow): THistoryEntry => ({
  id: h.id,
  at: h.at.toISOString(),
  kind: h.kind,
  version: h.versionNumber,
  from: h.from,
  to: h.to,
  actor: { kind: h.actorKind, id: h.actorId, name: h.actorName },
  comment: h.comment,
});

export const toApprovalResponse = (a: ApprovalRow): TApproval => ({
  id: a.id,
  model: modelNameOf(a.model.name),
  version: a.version.number,
  toStage: a.toStage,
  archivePrevious: a.archivePrevious,
  status: a.status,
  comment: a.comment,
  requestedBy: { kind: a.requestedByKind, id: a.requestedById, name: a.requestedByName },
  decidedBy: a.decidedByKind ? { kind: a.decidedByKind, id: a.decidedById, name: a.decidedByName } : null,
  decisionComment: a.decisionComment,
  createdAt: a.createdAt.toISOString(),
  decidedAt: a.decidedAt?.toISOString() ?? null,
});
