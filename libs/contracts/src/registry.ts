import { z } from 'zod';
import { pageOf } from './auth.js';

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];
export const ZStage = z.enum(STAGES);
export const VERSION_STATUSES = ['pending', 'ready', 'failed'] as const;
export const ZVersionStatus = z.enum(VERSION_STATUSES);
export const STORAGE_BACKENDS = ['local', 's3', 'azure'] as const;
export const ZStorageBackend = z.enum(STORAGE_BACKENDS);

/** URL-safe, lower case: it appears in every prediction URL. */
export const ZModelName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit');
export const ZAliasName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_-]*$/, 'lower-case letters, digits, "_" and "-", starting with a letter')
  .refine(
    (s) => !/^v?\d+$/.test(s) && !(STAGES as readonly string[]).map((x) => x.toLowerCase()).includes(s),
    'must not look like a version number or a stage',
  );
export const ZTags = z
  .record(z.string().min(1).max(128), z.string().max(1024))
  .refine((t) => Object.keys(t).length <= 64, 'at most 64 tags');
export const ZMetrics = z
  .record(z.string().min(1).max(128), z.number().finite())
  .refine((t) => Object.keys(t).length <= 256, 'at most 256 metrics');
export const ZLineage = z
  .object({
    sourceRunId: z.string().max(256),
    gitCommit: z.string().max(64),
    ciJobUrl: z.string().max(2048),
    trainingDatasetUri: z.string().max(2048),
  })
  .partial()
  .catchall(z.string().max(2048));

/** Feature rows for a drift baseline: the shape of test/fixtures/models/<name>/reference.json. */
export const ZReferenceDataset = z.object({
  feature_names: z.array(z.string().min(1)).min(1).max(10_000),
  rows: z
    .array(z.array(z.union([z.number(), z.string(), z.null()])))
    .min(1)
    .max(1_000_000),
});
export type TReferenceDataset = z.infer<typeof ZReferenceDataset>;

/** A signature as stored and served (inputs/outputs with -1 for dynamic dims, columns, classes). */
export const ZSignatureJson = z.record(z.string(), z.unknown());

/**
 * Per-model serving options. Micro-batching merges concurrent requests to one version into a single session run.
 * By default (`microBatch` absent or null) requests that arrive together, in one turn of the api's event loop, are
 * merged, up to SERVING_MICRO_BATCH_ROWS rows, and nobody waits for company; `{maxBatchRows, maxWaitUs}` waits up to
 * `maxWaitUs` microseconds for company, up to `maxBatchRows` rows; `false`: one run per request. Only versions whose
 * signature has an open batch dimension (every input and output `-1` first) are merged.
 */
export const ZServingConfig = z.object({
  microBatch: z
    .union([
      z.literal(false),
      z.object({
        maxBatchRows: z.number().int().min(2).max(4096),
        maxWaitUs: z.number().int().min(50).max(100_000),
      }),
    ])
    .nullable()
    .optional(),
});
export type TServingConfig = z.infer<typeof ZServingConfig>;

export const ZCreateModelRequest = z.object({
  name: ZModelName,
  description: z.string().max(10_000).default(''),
  tags: ZTags.default({}),
  requiresApproval: z.boolean().default(false),
});
export type TCreateModelRequest = z.infer<typeof ZCreateModelRequest>;
export const ZUpdateModelRequest = z
  .object({
    description: z.string().max(10_000),
    tags: ZTags,
    requiresApproval: z.boolean(),
    servingConfig: ZServingConfig,
  })
  .partial();
export type TUpdateModelRequest = z.infer<typeof ZUpdateModelRequest>;

export const ZActorRef = z.object({ kind: z.string(), id: z.string().nullable(), name: z.string().nullable() });

/**
 * Serving status on the registry's model and version routes, which TF Serving (`model_version_status`, its field
 * names) and KServe v1 (`ready`) clients poll at the same URLs. Computed per api process from what it serves.
 */
export const ZModelVersionStatus = z.object({
  version: z.string(),
  state: z.enum(['AVAILABLE', 'LOADING', 'UNAVAILABLE']),
  status: z.object({ error_code: z.string(), error_message: z.string() }),
});
export type TModelVersionStatus = z.infer<typeof ZModelVersionStatus>;

export const ZRegisteredModel = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  tags: z.record(z.string(), z.string()),
  owner: ZActorRef,
  requiresApproval: z.boolean(),
  servingConfig: ZServingConfig,
  latestVersion: z.number().int().nullable(),
  productionVersion: z.number().int().nullable(),
  stagingVersions: z.array(z.number().int()),
  aliases: z.record(z.string(), z.number().int()),
  createdAt: z.string(),
  updatedAt: z.string(),
  ready: z.boolean().optional(),
  model_version_status: z.array(ZModelVersionStatus).optional(),
});
export type TRegisteredModel = z.infer<typeof ZRegisteredModel>;
export const ZModelPage = pageOf(ZRegisteredModel);
export const ZListModelsQuery = z.object({
  search: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type TListModelsQuery = z.infer<typeof ZListModelsQuery>;

/**
 * Everything about a new version except the artifact bytes. With an upload it travels as the multipart field
 * `spec` (before the `file` part); to register an artifact that is already in storage, send it as JSON with
 * `artifactUri` (s3://bucket/key, azure://container/blob, file:///path under the local root).
 */
export const ZRegisterVersionSpec = z.object({
  artifactUri: z.string().max(2048).optional(),
  backend: ZStorageBackend.optional(),
  description: z.string().max(10_000).default(''),
  tags: ZTags.default({}),
  metrics: ZMetrics.default({}),
  metadata: z.record(z.string(), z.unknown()).default({}),
  lineage: ZLineage.default({}),
  /** Overrides what the ONNX file says (feature names, classes, class names). */
  signature: ZSignatureJson.optional(),
  /** Rows to run at validation; their outputs are stored with the version. */
  sampleInput: z
    .array(z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]))
    .max(1000)
    .optional(),
  reference: ZReferenceDataset.optional(),
});
export type TRegisterVersionSpec = z.infer<typeof ZRegisterVersionSpec>;

export const ZModelVersion = z.object({
  id: z.string(),
  model: z.string(),
  version: z.number().int(),
  status: ZVersionStatus,
  failureReason: z.string().nullable(),
  stage: ZStage,
  aliases: z.array(z.string()),
  description: z.string(),
  storage: z.object({
    backend: ZStorageBackend,
    uri: z.string(),
    servingUri: z.string().nullable(),
    owned: z.boolean(),
  }),
  sha256: z.string().nullable(),
  sizeBytes: z.number().nullable(),
  signature: ZSignatureJson.nullable(),
  metadata: z.record(z.string(), z.unknown()),
  tags: z.record(z.string(), z.string()),
  metrics: z.record(z.string(), z.number()),
  lineage: z.record(z.string(), z.string()),
  sampleInput: z.unknown().nullable(),
  sampleOutput: z.unknown().nullable(),
  hasReference: z.boolean(),
  createdBy: ZActorRef.extend({ apiKeyId: z.string().nullable() }),
  createdAt: z.string(),
  readyAt: z.string().nullable(),
  ready: z.boolean().optional(),
  model_version_status: z.array(ZModelVersionStatus).optional(),
});
export type TModelVersion = z.infer<typeof ZModelVersion>;

export const ZStageTransitionRequest = z.object({
  stage: ZStage,
  comment: z.string().max(2000).default(''),
  /** Moving to Production: also archive the version that is in Production now (default true). */
  archivePrevious: z.boolean().default(true),
});
export type TStageTransitionRequest = z.infer<typeof ZStageTransitionRequest>;

/** A transition either happened or (policy) became an approval request a second approver must accept. */
export const ZStageTransitionResult = z.object({
  outcome: z.enum(['transitioned', 'approval_requested']),
  version: ZModelVersion,
  archived: z.array(z.number().int()),
  approvalRequestId: z.string().nullable(),
});
export type TStageTransitionResult = z.infer<typeof ZStageTransitionResult>;

export const ZSetAliasRequest = z.object({
  version: z.number().int().min(1),
  comment: z.string().max(2000).default(''),
});
export type TSetAliasRequest = z.infer<typeof ZSetAliasRequest>;

export const ZHistoryEntry = z.object({
  id: z.string(),
  at: z.string(),
  kind: z.string(),
  version: z.number().int().nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  actor: ZActorRef,
  comment: z.string(),
});
export type THistoryEntry = z.infer<typeof ZHistoryEntry>;

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'cancelled'] as const;
export const ZApproval = z.object({
  id: z.string(),
  model: z.string(),
  version: z.number().int(),
  toStage: ZStage,
  archivePrevious: z.boolean(),
  status: z.enum(APPROVAL_STATUSES),
  comment: z.string(),
  requestedBy: ZActorRef,
  decidedBy: ZActorRef.nullable(),
  decisionComment: z.string().nullable(),
  createdAt: z.string(),
  decidedAt: z.string().nullable(),
});
export type TApproval = z.infer<typeof ZApproval>;
export const ZApprovalDecision = z.object({ comment: z.string().max(2000).default('') });
export type TApprovalDecision = z.infer<typeof ZApprovalDecision>;
