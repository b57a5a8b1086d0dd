import type { ErrorCode } from '@modelyard/contracts';

/** What the OpenAPI document says about one route beyond what the controller's decorators declare. */
export interface OperationDoc {
  /** The stable operationId: generated clients name their methods after it, so it never changes once released. */
  id: string;
  summary: string;
  /** Error codes this route answers besides the ones every route of its kind does (see errorCodesOf). */
  errors?: ErrorCode[];
  /** Request headers the route reads. */
  headers?: { name: string; description: string }[];
  /** The answer is a file or text, not JSON. */
  download?: { contentType: string; description: string };
}

/**
 * Every route of the api's controllers, keyed by `Controller.method` (the predict router's routes are described
 * by their protocols). A route that is not here still appears in the document
 * (Nest finds it), under a placeholder operationId, and openapi.int-spec.ts fails until it is added.
 */
export const OPERATIONS: Record<string, OperationDoc> = {
  'HealthController.live': { id: 'getLiveness', summary: 'Liveness: the process answers (checks no dependency)' },
  'HealthController.ready': { id: 'getReadiness', summary: 'Readiness: Postgres, Redis, storage, the serving cache' },
  'AuthController.login': {
    id: 'login',
    summary: 'Sign in with email and password; sets the session cookie',
    errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED'],
  },
  'AuthController.logout': { id: 'logout', summary: 'End the session of the cookie sent' },
  'AuthController.me': { id: 'getMe', summary: 'The caller: account, role, scopes' },
  'SsoController.info': { id: 'getSsoInfo', summary: 'Whether single sign-on is configured, and its IdP' },
  'SsoController.login': {
    id: 'startSsoLogin',
    summary: 'Start an OpenID Connect sign-in: redirects to the IdP (PKCE, state and nonce in a sealed cookie)',
  },
  'SsoController.callback': {
    id: 'finishSsoLogin',
    summary: 'The IdP redirects back here: checks state, code, nonce and ID token, then sets the session cookie',
    errors: ['INVALID_CREDENTIALS', 'CONFLICT'],
  },
  'SsoController.exchange': {
    id: 'exchangeSsoToken',
    summary: "Trade an ID token from the IdP's device flow (the CLI) for a session token",
    errors: ['INVALID_CREDENTIALS', 'CONFLICT'],
  },
  'UsersController.list': { id: 'listUsers', summary: 'List users (paged)' },
  'UsersController.create': { id: 'createUser', summary: 'Create a user', errors: ['CONFLICT'] },
  'UsersController.update': {
    id: 'updateUser',
    summary: "Change a user's role, password or disabled flag",
    errors: ['CONFLICT'],
  },
  'GroupsController.list': { id: 'listGroups', summary: 'List groups with their members' },
  'GroupsController.create': { id: 'createGroup', summary: 'Create a group', errors: ['CONFLICT'] },
  'GroupsController.delete': { id: 'deleteGroup', summary: 'Delete a group' },
  'GroupsController.addMember': {
    id: 'addGroupMember',
    summary: 'Add a user or service account to a group',
    errors: ['CONFLICT'],
  },
  'GroupsController.removeMember': { id: 'removeGroupMember', summary: 'Remove a member from a group' },
  'ProjectsController.list': { id: 'listProjects', summary: 'List the projects you have a role in' },
  'ProjectsController.create': { id: 'createProject', summary: 'Create a project', errors: ['CONFLICT'] },
  'ProjectController.get': { id: 'getProject', summary: 'Read the project you act in' },
  'ProjectController.update': { id: 'updateProject', summary: 'Change the project description or quotas' },
  'ProjectController.delete': { id: 'deleteProject', summary: 'Delete an empty project', errors: ['CONFLICT'] },
  'ProjectController.grants': { id: 'listProjectGrants', summary: 'List who has which role on the project' },
  'ProjectController.setGrant': { id: 'setProjectGrant', summary: 'Give a user or group a role on the project' },
  'ProjectController.removeGrant': { id: 'removeProjectGrant', summary: 'Take a role on the project away' },
  'ServiceAccountsController.list': { id: 'listServiceAccounts', summary: 'List service accounts' },
  'ServiceAccountsController.create': {
    id: 'createServiceAccount',
    summary: 'Create a service account',
    errors: ['CONFLICT'],
  },
  'ServiceAccountsController.update': { id: 'updateServiceAccount', summary: 'Change a service account' },
  'ApiKeysController.list': { id: 'listApiKeys', summary: 'List the API keys the caller may see' },
  'ApiKeysController.create': { id: 'createApiKey', summary: 'Create an API key (the secret is shown once)' },
  'ApiKeysController.revoke': { id: 'revokeApiKey', summary: 'Revoke an API key' },
  'AuditController.list': { id: 'listAuditEvents', summary: 'Search the audit log (paged)' },
  'ModelsController.list': { id: 'listModels', summary: 'List registered models (paged, searchable)' },
  'OverviewController.page': {
    id: 'modelOverview',
    summary: 'Every model with serving, traffic, SLO, drift and alerts, from one query (paged, sortable)',
  },
  'ModelsController.create': { id: 'createModel', summary: 'Create a model without versions', errors: ['CONFLICT'] },
  'ModelsController.get': { id: 'getModel', summary: 'A model with its serving status' },
  'ModelsController.update': { id: 'updateModel', summary: "Change a model's description, tags, policy, serving" },
  'ModelsController.delete': {
    id: 'deleteModel',
    summary: 'Delete a model, its versions and its finished jobs with their files',
    errors: ['CONFLICT'],
  },
  'ModelsController.versions': { id: 'listVersions', summary: "List a model's versions" },
  'ModelsController.register': {
    id: 'registerVersion',
    summary: 'Register a version (upload, or an artifact URI)',
    errors: ['CONFLICT'],
  },
  'ModelsController.version': { id: 'getVersion', summary: 'A version with its serving status' },
  'ModelsController.updateVersion': { id: 'updateVersion', summary: "Change a version's description, tags, metrics" },
  'ModelsController.deleteVersion': {
    id: 'deleteVersion',
    summary: 'Delete a version (not Production, not aliased)',
    errors: ['CONFLICT'],
  },
  'ModelsController.artifact': {
    id: 'downloadArtifact',
    summary: "Download a version's ONNX artifact",
    download: { contentType: 'application/octet-stream', description: 'The artifact (SHA-256 in X-Checksum-Sha256)' },
  },
  'ModelsController.stage': {
    id: 'transitionStage',
    summary: 'Move a version to a stage (may need an approval)',
    errors: ['CONFLICT'],
  },
  'ModelsController.setAlias': { id: 'setAlias', summary: 'Point an alias at a version', errors: ['CONFLICT'] },
  'ModelsController.deleteAlias': { id: 'deleteAlias', summary: 'Remove an alias' },
  'ModelsController.history': { id: 'getModelHistory', summary: "A model's registration, stage and alias history" },
  'ApprovalsController.list': { id: 'listApprovals', summary: 'List approval requests' },
  'ApprovalsController.approve': {
    id: 'approveRequest',
    summary: 'Approve a request (a different approver)',
    errors: ['CONFLICT'],
  },
  'ApprovalsController.reject': { id: 'rejectRequest', summary: 'Reject a request', errors: ['CONFLICT'] },
  'WebhooksController.list': { id: 'listWebhooks', summary: 'List webhooks' },
  'WebhooksController.create': { id: 'createWebhook', summary: 'Create a webhook (the signing secret is shown once)' },
  'WebhooksController.delete': { id: 'deleteWebhook', summary: 'Delete a webhook' },
  'WebhooksController.deliveries': { id: 'listWebhookDeliveries', summary: "A webhook's delivery log" },
  'MetricsController.series': { id: 'getMetricSeries', summary: 'Per-minute requests, errors and latency' },
  'MetricsController.scrape': {
    id: 'scrapeMetrics',
    summary: 'Prometheus metrics',
    download: { contentType: 'text/plain', description: 'Prometheus text exposition format' },
  },
  'DeploymentsController.comparison': {
    id: 'getDeploymentComparison',
    summary: 'How a silent version compares with Production',
  },
  'DeploymentsController.get': { id: 'getDeployment', summary: "The model's deployment: pilots and silent versions" },
  'DeploymentsController.put': {
    id: 'putDeployment',
    summary: 'Replace the deployment (a new revision)',
    errors: ['CONFLICT'],
  },
  'DeploymentsController.revisions': { id: 'listDeploymentRevisions', summary: "The deployment's revisions" },
  'DeploymentsController.rollback': {
    id: 'rollbackDeployment',
    summary: 'Go back to an earlier revision',
    errors: ['CONFLICT'],
  },
  'DeploymentsController.promotePilot': {
    id: 'promotePilot',
    summary: 'Make the pilot version Production',
    errors: ['CONFLICT'],
  },
  'OipV2Controller.server': { id: 'oipServerMetadata', summary: 'OIP v2 server metadata' },
  'OipV2Controller.live': { id: 'oipServerLive', summary: 'OIP v2 server liveness' },
  'OipV2Controller.ready': { id: 'oipServerReady', summary: 'OIP v2 server readiness' },
  'OipV2Controller.metadata': { id: 'oipModelMetadata', summary: 'OIP v2 model metadata' },
  'OipV2Controller.versionMetadata': { id: 'oipVersionMetadata', summary: 'OIP v2 model version metadata' },
  'OipV2Controller.modelReady': { id: 'oipModelReady', summary: 'OIP v2 model readiness' },
  'OipV2Controller.versionReady': { id: 'oipVersionReady', summary: 'OIP v2 model version readiness' },
  'TfsController.labelStatus': { id: 'tfsLabelStatus', summary: 'TF Serving status of a label' },
  'TfsController.metadata': { id: 'tfsModelMetadata', summary: 'TF Serving model metadata' },
  'TfsController.versionMetadata': { id: 'tfsVersionMetadata', summary: 'TF Serving version metadata' },
  'AsyncPredictController.predictAsync': {
    id: 'predictAsync',
    summary: 'Queue a prediction in any format; poll the job or get a signed callback',
    headers: [
      { name: 'X-Callback-Url', description: 'Where the worker POSTs the result (needs predict:callback)' },
      { name: 'X-Callback-Secret', description: 'Signs the callback (at least 16 characters)' },
    ],
  },
  'ExplainController.model': {
    id: 'explain',
    summary: 'Explain predictions: per-feature contributions (Shapley values) to each output, per row',
    errors: ['CONFLICT', 'RATE_LIMITED'],
  },
  'ExplainController.version': {
    id: 'explainVersion',
    summary: 'Explain predictions of one version',
    errors: ['CONFLICT', 'RATE_LIMITED'],
  },
  'ExplainController.alias': {
    id: 'explainAlias',
    summary: 'Explain predictions of the version an alias points to',
    errors: ['CONFLICT', 'RATE_LIMITED'],
  },
  'ExplainController.importance': {
    id: 'versionImportance',
    summary: "A version's global importance: mean |contribution| per feature over its reference rows",
    errors: ['CONFLICT', 'RATE_LIMITED'],
  },
  'OipExplainController.model': {
    id: 'oipExplain',
    summary: 'OIP v2 explain: an inference request answered with contribution, base and value tensors',
    errors: ['CONFLICT', 'RATE_LIMITED'],
  },
  'OipExplainController.version': {
    id: 'oipExplainVersion',
    summary: 'OIP v2 explain on one version, or on the version an alias points to',
    errors: ['CONFLICT', 'RATE_LIMITED'],
  },
  'AsyncPredictController.stored': {
    id: 'getStoredPrediction',
    summary: 'A stored prediction by entity id; with features as query parameters, a live one when none is stored',
  },
  'JobsController.create': { id: 'createBatchJob', summary: 'Score a file (upload, or an input URI) later' },
  'JobsController.list': { id: 'listJobs', summary: 'List jobs (paged)' },
  'JobsController.get': { id: 'getJob', summary: "A job: status, progress, outputs, an async prediction's result" },
  'JobsController.cancel': { id: 'cancelJob', summary: 'Cancel a queued or running job', errors: ['CONFLICT'] },
  'JobsController.retry': { id: 'retryJob', summary: 'Retry a failed or cancelled job', errors: ['CONFLICT'] },
  'JobsController.remove': {
    id: 'deleteJob',
    summary: 'Delete a finished job and the files stored for it',
    errors: ['CONFLICT'],
  },
  'JobsController.file': {
    id: 'downloadJobFile',
    summary: "Download a job's input, output or errors file",
    download: { contentType: 'application/octet-stream', description: 'CSV or JSON Lines' },
  },
  'SchedulesController.list': { id: 'listSchedules', summary: 'List scoring schedules' },
  'SchedulesController.create': { id: 'createSchedule', summary: 'Create a scoring schedule' },
  'SchedulesController.pause': { id: 'pauseSchedule', summary: 'Pause a schedule' },
  'SchedulesController.resume': { id: 'resumeSchedule', summary: 'Resume a schedule' },
  'SchedulesController.run': { id: 'runSchedule', summary: 'Run a schedule now, once' },
  'SchedulesController.remove': { id: 'deleteSchedule', summary: 'Delete a schedule' },
  'StreamsController.list': { id: 'listModelStreams', summary: "A model's stream deployments, with lag" },
  'StreamsController.create': {
    id: 'createStream',
    summary: 'Create a stream deployment (a source stream scored into a sink)',
    errors: ['CONFLICT'],
  },
  'StreamsController.get': { id: 'getStream', summary: 'A stream deployment, with lag and pending records' },
  'StreamsController.update': { id: 'updateStream', summary: "Pause, resume or change a stream deployment's options" },
  'StreamsController.pause': { id: 'pauseStream', summary: 'Pause a stream deployment' },
  'StreamsController.resume': { id: 'resumeStream', summary: 'Resume a stream deployment' },
  'StreamsController.rewind': { id: 'rewindStream', summary: 'Deliver records again from an id or a time' },
  'StreamsController.remove': { id: 'deleteStream', summary: 'Delete a stream deployment and its consumer group' },
  'AllStreamsController.list': { id: 'listStreams', summary: 'Every stream deployment the caller may see' },
  'DriftController.series': { id: 'getDriftSeries', summary: 'Per-window, per-column drift of a version' },
  'DriftController.latest': { id: 'getLatestDrift', summary: "The newest drift window's full report" },
  'DriftController.histogram': { id: 'getDriftHistogram', summary: "One column's reference and current counts" },
  'DriftController.profile': { id: 'getDriftProfile', summary: "A version's reference profile" },
  'DriftController.rebuildProfile': { id: 'rebuildDriftProfile', summary: 'Rebuild the profile from the reference' },
  'DriftController.createReport': { id: 'createDriftReport', summary: 'An ad hoc drift report of a stored dataset' },
  'DriftController.getReport': { id: 'getDriftReport', summary: 'An ad hoc drift report' },
  'AlertsController.getRules': { id: 'getAlertRules', summary: "A model's alert rules" },
  'AlertsController.putRules': { id: 'putAlertRules', summary: "Replace a model's alert rules" },
  'AlertsController.slo': { id: 'getSlo', summary: 'The latency SLO and its error budget over a range' },
  'AlertsController.list': { id: 'listAlerts', summary: 'List alerts' },
  'FeedbackController.submit': {
    id: 'postFeedback',
    summary: 'Labels or target values for predictions, by prediction id or entity id (JSON, CSV or JSON Lines)',
  },
  'FeedbackController.report': {
    id: 'getPerformance',
    summary: 'Model quality on labelled predictions per version, role, window and caller group',
  },
  'FeedbackController.compare': {
    id: 'comparePilotPerformance',
    summary: "A pilot's labelled traffic against production's: difference, confidence interval, p-value, verdict",
  },
  // MLflow compatibility: the registry, runs and proxied artifacts an MLflow client uses (apps/api/src/mlflow).
  'MlflowRegistryController.createModel': {
    id: 'mlflowCreateRegisteredModel',
    summary: 'MLflow: create a registered model',
    errors: ['CONFLICT'],
  },
  'MlflowRegistryController.getModel': { id: 'mlflowGetRegisteredModel', summary: 'MLflow: a registered model' },
  'MlflowRegistryController.renameModel': {
    id: 'mlflowRenameRegisteredModel',
    summary: 'MLflow: rename a registered model (refused: Modelyard names are stable)',
  },
  'MlflowRegistryController.updateModel': {
    id: 'mlflowUpdateRegisteredModel',
    summary: "MLflow: change a registered model's description",
  },
  'MlflowRegistryController.deleteModel': {
    id: 'mlflowDeleteRegisteredModel',
    summary: 'MLflow: delete a registered model and its versions',
    errors: ['CONFLICT'],
  },
  'MlflowRegistryController.searchModels': {
    id: 'mlflowSearchRegisteredModels',
    summary: 'MLflow: search registered models (filter, order_by, paging)',
  },
  'MlflowRegistryController.latestVersions': {
    id: 'mlflowGetLatestVersions',
    summary: 'MLflow: the newest version per stage (deprecated)',
  },
  'MlflowRegistryController.latestVersionsGet': {
    id: 'mlflowGetLatestVersionsByQuery',
    summary: 'MLflow: the newest version per stage, as a GET (deprecated)',
  },
  'MlflowRegistryController.setModelTag': { id: 'mlflowSetRegisteredModelTag', summary: 'MLflow: set a model tag' },
  'MlflowRegistryController.deleteModelTag': {
    id: 'mlflowDeleteRegisteredModelTag',
    summary: 'MLflow: delete a model tag',
  },
  'MlflowRegistryController.setAlias': {
    id: 'mlflowSetRegisteredModelAlias',
    summary: 'MLflow: point an alias at a version',
    errors: ['CONFLICT'],
  },
  'MlflowRegistryController.deleteAlias': {
    id: 'mlflowDeleteRegisteredModelAlias',
    summary: 'MLflow: delete an alias',
  },
  'MlflowRegistryController.versionByAlias': {
    id: 'mlflowGetModelVersionByAlias',
    summary: 'MLflow: the version an alias points at',
  },
  'MlflowRegistryController.createVersion': {
    id: 'mlflowCreateModelVersion',
    summary: 'MLflow: register the ONNX model of an MLflow source (runs:/ or mlflow-artifacts:/) as a version',
  },
  'MlflowRegistryController.getVersion': { id: 'mlflowGetModelVersion', summary: 'MLflow: a model version' },
  'MlflowRegistryController.updateVersion': {
    id: 'mlflowUpdateModelVersion',
    summary: "MLflow: change a version's description",
  },
  'MlflowRegistryController.deleteVersion': {
    id: 'mlflowDeleteModelVersion',
    summary: 'MLflow: delete a model version',
    errors: ['CONFLICT'],
  },
  'MlflowRegistryController.transition': {
    id: 'mlflowTransitionModelVersionStage',
    summary: "MLflow: move a version to a stage (deprecated; Modelyard's stage rules apply)",
    errors: ['CONFLICT'],
  },
  'MlflowRegistryController.searchVersions': {
    id: 'mlflowSearchModelVersions',
    summary: 'MLflow: search model versions (filter, order_by, paging)',
  },
  'MlflowRegistryController.downloadUri': {
    id: 'mlflowGetModelVersionDownloadUri',
    summary: "MLflow: where a version's MLflow artifacts are",
  },
  'MlflowRegistryController.setVersionTag': { id: 'mlflowSetModelVersionTag', summary: 'MLflow: set a version tag' },
  'MlflowRegistryController.deleteVersionTag': {
    id: 'mlflowDeleteModelVersionTag',
    summary: 'MLflow: delete a version tag',
  },
  'MlflowTrackingController.getExperiment': { id: 'mlflowGetExperiment', summary: 'MLflow: the default experiment' },
  'MlflowTrackingController.experimentByName': {
    id: 'mlflowGetExperimentByName',
    summary: 'MLflow: the default experiment, by name',
  },
  'MlflowTrackingController.createRun': { id: 'mlflowCreateRun', summary: 'MLflow: start a run' },
  'MlflowTrackingController.getRun': { id: 'mlflowGetRun', summary: 'MLflow: a run' },
  'MlflowTrackingController.updateRun': { id: 'mlflowUpdateRun', summary: 'MLflow: end a run or change its name' },
  'MlflowTrackingController.logBatch': { id: 'mlflowLogBatch', summary: 'MLflow: log params, metrics and tags' },
  'MlflowTrackingController.logParam': { id: 'mlflowLogParam', summary: 'MLflow: log a param' },
  'MlflowTrackingController.logMetric': { id: 'mlflowLogMetric', summary: 'MLflow: log a metric' },
  'MlflowTrackingController.setTag': { id: 'mlflowSetRunTag', summary: 'MLflow: set a run tag' },
  'MlflowTrackingController.searchLoggedModels': {
    id: 'mlflowSearchLoggedModels',
    summary: 'MLflow 3: search logged models (Modelyard keeps none: always empty)',
  },
  'MlflowArtifactsController.upload': {
    id: 'mlflowUploadArtifact',
    summary: "MLflow: upload one file of a run's artifacts (the raw bytes)",
  },
  'MlflowArtifactsController.list': { id: 'mlflowListArtifacts', summary: "MLflow: list a run's artifact folder" },
  'MlflowArtifactsController.download': {
    id: 'mlflowDownloadArtifact',
    summary: "MLflow: download one file of a run's artifacts",
    download: { contentType: 'application/octet-stream', description: 'The file' },
  },
  'MlflowArtifactsController.remove': { id: 'mlflowDeleteArtifact', summary: 'MLflow: delete one artifact file' },
};
