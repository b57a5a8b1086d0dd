import { z } from 'zod';

/**
 * The part of MLflow's REST API (`/api/2.0/mlflow/...`, mlflow/protos/model_registry.proto and service.proto) that
 * `MlflowClient` and `mlflow.register_model` use, as Modelyard serves it. Field names are MLflow's (snake_case);
 * requests may carry fields MLflow defines that Modelyard ignores (they are dropped, not refused). Names, aliases
 * and tags are held to Modelyard's own rules (ZModelName, ZAliasName, ZTags), which are stricter than MLflow's.
 */

/** MLflow sends version numbers as strings (proto `string version`); numbers are accepted too. */
export const ZMlflowVersionNumber = z.coerce
  .string()
  .trim()
  .regex(/^[1-9]\d{0,9}$/, 'a version number (1, 2, ...)')
  .transform(Number)
  .refine((n) => n <= 2_147_483_647, 'a version number (1, 2, ...)');
/** Long enough for anything MLflow accepts: Modelyard's own name rules are checked after, with MLflow's error code. */
const ZName = z.string().max(1000);
const ZTagKey = z.string().min(1).max(250);
export const ZMlflowTag = z.object({ key: ZTagKey, value: z.string().max(8000).default('') });
const ZTagList = z.array(ZMlflowTag).max(1000).default([]);

export const ZMlflowCreateRegisteredModel = z.object({
  name: ZName,
  tags: ZTagList,
  description: z.string().max(10_000).default(''),
});
export const ZMlflowRenameRegisteredModel = z.object({ name: ZName, new_name: ZName });
export const ZMlflowUpdateRegisteredModel = z.object({ name: ZName, description: z.string().max(10_000).optional() });
export const ZMlflowModelName = z.object({ name: ZName });
export const ZMlflowSearchQuery = z.object({
  filter: z.string().max(4000).default(''),
  // MLflow's client asks for 10,000 versions (its servers allow up to 200,000); more than 10,000 come in pages.
  max_results: z.coerce.number().int().min(1).max(200_000).optional(),
  order_by: z
    .union([z.string().max(200), z.array(z.string().max(200)).max(10)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
  page_token: z.string().max(200).optional(),
});
export const ZMlflowGetLatestVersions = z.object({
  name: ZName,
  stages: z
    .union([z.string().max(20), z.array(z.string().max(20)).max(10)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
});
export const ZMlflowCreateModelVersion = z.object({
  name: ZName,
  source: z.string().min(1).max(2048),
  run_id: z.string().max(64).optional(),
  tags: ZTagList,
  run_link: z.string().max(2048).optional(),
  description: z.string().max(10_000).default(''),
  model_id: z.string().max(256).optional(),
});
export const ZMlflowVersionRef = z.object({ name: ZName, version: ZMlflowVersionNumber });
export const ZMlflowUpdateModelVersion = ZMlflowVersionRef.extend({ description: z.string().max(10_000).optional() });
export const ZMlflowTransitionStage = ZMlflowVersionRef.extend({
  stage: z.string().max(20),
  archive_existing_versions: z.coerce.boolean().default(false),
});
export const ZMlflowSetModelTag = z.object({ name: ZName, key: ZTagKey, value: z.string().max(8000).default('') });
export const ZMlflowDeleteModelTag = z.object({ name: ZName, key: ZTagKey });
export const ZMlflowSetVersionTag = ZMlflowVersionRef.extend({ key: ZTagKey, value: z.string().max(8000).default('') });
export const ZMlflowDeleteVersionTag = ZMlflowVersionRef.extend({ key: ZTagKey });
export const ZMlflowSetAlias = z.object({ name: ZName, alias: z.string().max(1000), version: ZMlflowVersionNumber });
export const ZMlflowAliasRef = z.object({ name: ZName, alias: z.string().max(1000) });

const ZMlflowAliasEntry = z.object({ alias: z.string(), version: z.string() });
export const ZMlflowModelVersion = z.object({
  name: z.string(),
  version: z.string(),
  creation_timestamp: z.number(),
  last_updated_timestamp: z.number(),
  user_id: z.string(),
  current_stage: z.string(),
  description: z.string(),
  source: z.string(),
  run_id: z.string(),
  status: z.enum(['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY']),
  status_message: z.string(),
  tags: z.array(ZMlflowTag),
  aliases: z.array(z.string()),
});
export type TMlflowModelVersion = z.infer<typeof ZMlflowModelVersion>;
export const ZMlflowRegisteredModel = z.object({
  name: z.string(),
  creation_timestamp: z.number(),
  last_updated_timestamp: z.number(),
  user_id: z.string(),
  description: z.string(),
  latest_versions: z.array(ZMlflowModelVersion),
  tags: z.array(ZMlflowTag),
  aliases: z.array(ZMlflowAliasEntry),
});
export type TMlflowRegisteredModel = z.infer<typeof ZMlflowRegisteredModel>;
export const ZMlflowRegisteredModelResponse = z.object({ registered_model: ZMlflowRegisteredModel });
export const ZMlflowRegisteredModelPage = z.object({
  registered_models: z.array(ZMlflowRegisteredModel),
  next_page_token: z.string().optional(),
});
export const ZMlflowModelVersionResponse = z.object({ model_version: ZMlflowModelVersion });
export const ZMlflowModelVersionList = z.object({ model_versions: z.array(ZMlflowModelVersion) });
export const ZMlflowModelVersionPage = ZMlflowModelVersionList.extend({ next_page_token: z.string().optional() });
export const ZMlflowDownloadUri = z.object({ artifact_uri: z.string() });
export const ZMlflowEmpty = z.object({});

// ---------------------------------------------------------------- tracking: experiments and runs

const ZRunId = z.string().regex(/^[0-9a-f]{32}$/, 'a run id (32 hex characters)');
export const ZMlflowExperimentRef = z.object({ experiment_id: z.string().max(64) });
export const ZMlflowExperimentByName = z.object({ experiment_name: z.string().max(500) });
export const ZMlflowCreateRun = z.object({
  experiment_id: z.string().max(64).default('0'),
  user_id: z.string().max(256).optional(),
  run_name: z.string().max(250).optional(),
  start_time: z.coerce.number().int().min(0).optional(),
  tags: ZTagList,
});
export const ZMlflowRunRef = z.object({ run_id: ZRunId.optional(), run_uuid: ZRunId.optional() });
export const ZMlflowUpdateRun = ZMlflowRunRef.extend({
  status: z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']).optional(),
  end_time: z.coerce.number().int().min(0).optional(),
  run_name: z.string().max(250).optional(),
});
const ZParam = z.object({ key: ZTagKey, value: z.string().max(6000) });
const ZMetric = z.object({
  key: ZTagKey,
  value: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]),
  timestamp: z.coerce.number().int().default(0),
  step: z.coerce.number().int().default(0),
});
export const ZMlflowLogBatch = ZMlflowRunRef.extend({
  metrics: z.array(ZMetric).max(1000).default([]),
  params: z.array(ZParam).max(100).default([]),
  tags: z.array(ZMlflowTag).max(100).default([]),
});
export const ZMlflowLogParam = ZMlflowRunRef.and(ZParam);
export const ZMlflowLogMetric = ZMlflowRunRef.and(ZMetric);
export const ZMlflowSetRunTag = ZMlflowRunRef.and(ZMlflowTag);
export type TMlflowLogBatch = z.infer<typeof ZMlflowLogBatch>;

export const ZMlflowExperiment = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string(),
  lifecycle_stage: z.string(),
  creation_time: z.number(),
  last_update_time: z.number(),
  tags: z.array(ZMlflowTag),
});
export const ZMlflowExperimentResponse = z.object({ experiment: ZMlflowExperiment });
export const ZMlflowRunInfo = z.object({
  run_id: z.string(),
  run_uuid: z.string(),
  run_name: z.string(),
  experiment_id: z.string(),
  user_id: z.string(),
  status: z.string(),
  start_time: z.number(),
  end_time: z.number().optional(),
  artifact_uri: z.string(),
  lifecycle_stage: z.string(),
});
export const ZMlflowRun = z.object({
  info: ZMlflowRunInfo,
  data: z.object({
    metrics: z.array(z.object({ key: z.string(), value: z.number(), timestamp: z.number(), step: z.number() })),
    params: z.array(z.object({ key: z.string(), value: z.string() })),
    tags: z.array(ZMlflowTag),
  }),
});
export type TMlflowRun = z.infer<typeof ZMlflowRun>;
export const ZMlflowRunResponse = z.object({ run: ZMlflowRun });
export const ZMlflowRunInfoResponse = z.object({ run_info: ZMlflowRunInfo });

/** MLflow 3's logged models: Modelyard keeps none, and answers a search (which MlflowClient.list_artifacts makes). */
export const ZMlflowSearchLoggedModels = z.object({ experiment_ids: z.array(z.string().max(64)).max(100).default([]) });
export const ZMlflowLoggedModelPage = z.object({ models: z.array(z.never()) });

// ---------------------------------------------------------------- proxied artifacts (mlflow-artifacts:)

export const ZMlflowListArtifactsQuery = z.object({ path: z.string().max(1024).default('') });
export const ZMlflowFileInfo = z.object({ path: z.string(), is_dir: z.boolean(), file_size: z.number().optional() });
export const ZMlflowArtifactList = z.object({ files: z.array(ZMlflowFileInfo) });
