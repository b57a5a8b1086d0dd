import 'reflect-metadata';
export * from './platform/errors.js';
export * from './platform/outage.js';
export * from './platform/tokens.js';
export * from './platform/logger.js';
export * from './platform/log-context.js';
export * from './platform/redis.service.js';
export * from './platform/cursor.js';
export * from './platform/validate.js';
export * from './platform/shutdown.js';
export * from './platform/process-metrics.js';
export * from './platform/lean-histogram.js';
export * from './platform/priority.js';
export * from './platform/tracing.js';
export * from './db/prisma.service.js';
export * from './db/errors.js';
export * from './auth/crypto.js';
export * from './auth/principal.js';
export * from './auth/auth.repository.js';
export * from './auth/auth.service.js';
export * from './tenancy/model-key.js';
export * from './tenancy/project-roles.js';
export * from './tenancy/storage-scope.js';
export * from './projects/projects.repository.js';
export * from './projects/projects.service.js';
export * from './projects/quotas.service.js';
export * from './audit/audit.repository.js';
export * from './audit/audit.service.js';
export * from './users/users.repository.js';
export * from './users/users.service.js';
export * from './groups/groups.repository.js';
export * from './groups/groups.service.js';
export * from './service-accounts/service-accounts.repository.js';
export * from './service-accounts/service-accounts.service.js';
export * from './api-keys/api-keys.repository.js';
export * from './api-keys/api-keys.service.js';
export * from './sso/sso.repository.js';
export * from './sso/sso.service.js';
export * from './queue/job-producer.js';
export * from './queue/job-handler.js';
export * from './health/health.service.js';
export * from './maintenance/maintenance.service.js';
export * from './seed/seed.js';
export * from './server-core.module.js';
export * from './onnx/onnx-model.js';
export * from './onnx/onnx-zipmap.js';
export * from './onnx/onnx-walk.js';
export * from './engine/index.js';
export * from './storage/storage-uri.js';
export * from './storage/storage-backend.js';
export * from './storage/storage.service.js';
export * from './registry/ports.js';
export * from './registry/registry.repository.js';
export * from './registry/registry.service.js';
export * from './registry/registry-validation.service.js';
export * from './registry/registry-sweep.service.js';
export * from './registry/onnx-inspector.js';
export * from './outbound/address-policy.js';
export * from './outbound/outbound-http.js';
export * from './webhooks/secret-box.js';
export * from './webhooks/webhooks.repository.js';
export * from './webhooks/webhooks.service.js';
export * from './webhooks/webhook-delivery.service.js';
export * from './webhooks/standard-webhooks.js';
export * from './events/domain-events.js';
export * from './events/event-consumer.js';
export * from './events/event-dispatcher.js';
export * from './events/outbox.repository.js';
export * from './events/follow-up-jobs.js';
export * from './events/outbox-poller.js';
export * from './serving/served-version.js';
export * from './serving/serving.service.js';
export * from './serving/prediction.service.js';
export * from './serving/serving-metrics.js';
export * from './serving/rate-limiter.js';
export * from './serving/rollups.repository.js';
export * from './serving/rollups.service.js';
export * from './overview/overview-grid.js';
export * from './overview/overview.repository.js';
export * from './overview/overview.service.js';
export * from './serving/formats/modelyard.format.js';
export * from './serving/formats/protocol.js';
export * from './serving/formats/protocols.js';
export * from './predictions/prediction-log.js';
export * from './predictions/prediction-log.repository.js';
export * from './predictions/prediction-ingest.service.js';
export {
  parseRowFormat,
  renderRowFormat,
  renderTfsMetadata,
  TFS_PROTOCOL,
  tfsVersionStatus,
  type RowFormatRequest,
  type TfsVersionState,
} from './serving/formats/row-format.format.js';
export {
  decodeOipBody,
  INFERENCE_HEADER,
  OIP_PLATFORM,
  OIP_V2_PROTOCOL,
  OipBinaryAnswer,
  parseOip,
  renderOip,
  renderOipMetadata,
  type OipBody,
  type OipRequest,
} from './serving/formats/oip-v2.format.js';
export {
  feedsFromTable,
  MLFLOW_ERRORS,
  MLFLOW_PROTOCOL,
  MLFLOW_REQUIRED_INPUT_FORMAT,
  mlflowBodyKind,
  parseMlflow,
  renderMlflow,
  type MlflowBodyKind,
} from './serving/formats/mlflow.format.js';
export * from './feedback/feedback.repository.js';
export * from './feedback/feedback.service.js';
export * from './feedback/feedback-parse.js';
export * from './feedback/performance.js';
export * from './feedback/performance-metrics.js';
export * from './feedback/performance.service.js';
export * from './feedback/pilot-stats.js';
export * from './deployments/deployments.repository.js';
export * from './deployments/deployments.service.js';
export * from './serving/shadow.service.js';
export * from './serving/comparisons.repository.js';
export * from './deployments/deployment-guard.service.js';
export * from './jobs/csv-stream.js';
export * from './jobs/batch-scorer.js';
export * from './jobs/batch-options.js';
export * from './jobs/jobs.repository.js';
export * from './jobs/jobs.service.js';
export * from './jobs/prediction-store.js';
export * from './jobs/batch-scoring.service.js';
export * from './jobs/batch-inline.js';
export * from './jobs/async-prediction.service.js';
export * from './jobs/schedules.service.js';
export * from './jobs/reconciler.service.js';
export * from './queue/worker-metrics.js';
export * from './drift/drift-stats.js';
export * from './drift/drift-sample.js';
export * from './drift/drift-profile.js';
export * from './drift/drift-window.js';
export * from './drift/drift-metrics.js';
export * from './drift/drift-schema.js';
export * from './drift/drift.repository.js';
export * from './drift/drift.service.js';
export * from './drift/drift-profiler.service.js';
export * from './drift/drift-fold.service.js';
export * from './drift/drift-adhoc.service.js';
export * from './alerts/alerts.repository.js';
export * from './alerts/alerts.service.js';
export * from './alerts/alert-evaluator.service.js';
export * from './alerts/slo.js';
export * from './mlflow/mlflow-registry.service.js';
export * from './mlflow/mlflow-tracking.service.js';
export * from './explain/explain.service.js';
export * from './explain/explainer.js';
export * from './streams/stream-port.js';
export * from './streams/redis-stream-port.js';
export * from './streams/stream-keys.js';
export * from './streams/streams.repository.js';
export * from './streams/streams.service.js';
export * from './streams/stream-scorer.js';
export * from './streams/stream-consumer.js';
export * from './streams/stream-metrics.js';
export * from './streams/stream-runner.service.js';
