import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { CommonConfig, OidcConfig } from '@modelyard/config';
import { PrismaService } from './db/prisma.service.js';
import { RedisService } from './platform/redis.service.js';
import { AUTH_OPTIONS, COMMON_CONFIG, LOGGER, SECRET_KEY } from './platform/tokens.js';
import { RegistryRepository } from './registry/registry.repository.js';
import { SsoRepository } from './sso/sso.repository.js';
import { SSO_OPTIONS, SsoService } from './sso/sso.service.js';
import { RegistryService } from './registry/registry.service.js';
import { MlflowRunsRepository } from './mlflow/mlflow-runs.repository.js';
import { MlflowTrackingService } from './mlflow/mlflow-tracking.service.js';
import { MlflowRegistryService } from './mlflow/mlflow-registry.service.js';
import { RegistryValidationService } from './registry/registry-validation.service.js';
import { RegistrySweepService } from './registry/registry-sweep.service.js';
import { OnnxModelInspector } from './registry/onnx-inspector.js';
import { MODEL_INSPECTOR } from './registry/ports.js';
import { DEFAULT_SANDBOX_LIMITS, SANDBOX_LIMITS, type SandboxLimits } from './engine/sandbox.js';
import { WebhooksRepository } from './webhooks/webhooks.repository.js';
import { WebhooksService } from './webhooks/webhooks.service.js';
import { WebhookDeliveryService } from './webhooks/webhook-delivery.service.js';
import { DomainEvents } from './events/domain-events.js';
import { EventDispatcher } from './events/event-dispatcher.js';
import { OutboxRepository } from './events/outbox.repository.js';
import { EVENT_CONSUMERS } from './events/event-consumer.js';
import { OutboundHttp } from './outbound/outbound-http.js';
import { PredictionLogShipper } from './predictions/prediction-log.js';
import { FeedbackRepository } from './feedback/feedback.repository.js';
import { FeedbackService } from './feedback/feedback.service.js';
import { PerformanceService } from './feedback/performance.service.js';
import { DeploymentsRepository } from './deployments/deployments.repository.js';
import { DeploymentsService } from './deployments/deployments.service.js';
import { DeploymentGuardService } from './deployments/deployment-guard.service.js';
import { RollupsRepository } from './serving/rollups.repository.js';
import { PredictionLogRepository } from './predictions/prediction-log.repository.js';
import { PredictionIngestService } from './predictions/prediction-ingest.service.js';
import { AuditRepository } from './audit/audit.repository.js';
import { AuditService } from './audit/audit.service.js';
import { AuthRepository } from './auth/auth.repository.js';
import { AuthService, type AuthOptions } from './auth/auth.service.js';
import { UsersRepository } from './users/users.repository.js';
import { UsersService } from './users/users.service.js';
import { GroupsRepository } from './groups/groups.repository.js';
import { GroupsService } from './groups/groups.service.js';
import { ProjectsRepository } from './projects/projects.repository.js';
import { ProjectsService } from './projects/projects.service.js';
import { ServiceAccountsRepository } from './service-accounts/service-accounts.repository.js';
import { ServiceAccountsService } from './service-accounts/service-accounts.service.js';
import { ProjectQuotas } from './projects/quotas.service.js';
import { ApiKeysRepository } from './api-keys/api-keys.repository.js';
import { ApiKeysService } from './api-keys/api-keys.service.js';
import { JobProducer } from './queue/job-producer.js';
import { HealthService } from './health/health.service.js';
import { MaintenanceService } from './maintenance/maintenance.service.js';
import { StorageService } from './storage/storage.service.js';
import { ARTIFACT_STORE, MODEL_JOBS } from './registry/ports.js';
import { JobsRepository } from './jobs/jobs.repository.js';
import { PredictionStore } from './jobs/prediction-store.js';
import { DriftRepository } from './drift/drift.repository.js';
import { DriftService } from './drift/drift.service.js';
import { DriftProfilerService } from './drift/drift-profiler.service.js';
import { DriftFoldService } from './drift/drift-fold.service.js';
import { DriftAdhocService } from './drift/drift-adhoc.service.js';
import { AlertsRepository } from './alerts/alerts.repository.js';
import { AlertsService } from './alerts/alerts.service.js';
import { AlertEvaluatorService } from './alerts/alert-evaluator.service.js';
import { OverviewRepository } from './overview/overview.repository.js';
import { OverviewService } from './overview/overview.service.js';
import { StreamsRepository } from './streams/streams.repository.js';
import { STREAM_PORT, StreamsService } from './streams/streams.service.js';
import { RedisStreamPort } from './streams/redis-stream-port.js';

const services = [
  PrismaService,
  RedisService,
  AuditRepository,
  AuditService,
  AuthRepository,
  AuthService,
  UsersRepository,
  UsersService,
  GroupsRepository,
  GroupsService,
  ProjectsRepository,
  ProjectsService,
  ProjectQuotas,
  ServiceAccountsRepository,
  ServiceAccountsService,
  ApiKeysRepository,
  ApiKeysService,
  JobProducer,
  HealthService,
  MaintenanceService,
  StorageService,
  { provide: ARTIFACT_STORE, useExisting: StorageService },
  OutboundHttp,
  WebhooksRepository,
  WebhooksService,
  WebhookDeliveryService,
  OutboxRepository,
  EventDispatcher,
  DomainEvents,
  // Every committed domain event reaches these (events/event-dispatcher.ts), then follow-up jobs and serving.
  {
    provide: EVENT_CONSUMERS,
    useFactory: (audit: AuditService, webhooks: WebhookDeliveryService) => [audit, webhooks],
    inject: [AuditService, WebhookDeliveryService],
  },
  RegistryRepository,
  RegistryService,
  RegistryValidationService,
  RegistrySweepService,
  OnnxModelInspector,
  { provide: MODEL_INSPECTOR, useExisting: OnnxModelInspector },
  PredictionLogShipper,
  PredictionLogRepository,
  PredictionIngestService,
  FeedbackRepository,
  FeedbackService,
  PerformanceService,
  DeploymentsRepository,
  DeploymentsService,
  DeploymentGuardService,
  RollupsRepository,
  JobsRepository,
  { provide: MODEL_JOBS, useExisting: JobsRepository },
  PredictionStore,
  DriftRepository,
  DriftService,
  DriftProfilerService,
  DriftFoldService,
  DriftAdhocService,
  AlertsRepository,
  AlertsService,
  AlertEvaluatorService,
  OverviewRepository,
  OverviewService,
  // MLflow compatibility (apps/api/src/mlflow)
  MlflowRunsRepository,
  MlflowTrackingService,
  MlflowRegistryService,
  SsoRepository,
  SsoService,
  // Stream deployments (libs/server/src/streams): rows and the broker port; the worker adds the runner.
  StreamsRepository,
  StreamsService,
  {
    provide: STREAM_PORT,
    useFactory: (redis: RedisService) => new RedisStreamPort(redis.client, `${redis.key('streams-lease')}:`),
    inject: [RedisService],
  },
];

export interface ServerCoreOptions {
  config: CommonConfig;
  logger: Logger;
  /** The worker has no sessions; it still needs the options for the shared AuthService. */
  auth?: AuthOptions;
  /** Memory and time for the child process that validates uploaded models (the worker's VALIDATION_* keys). */
  sandbox?: SandboxLimits;
  /** Single sign-on (the api's OIDC_* keys); null or absent: off. */
  sso?: OidcConfig | null;
}

/** Everything api and worker share, provided once per process. */
@Global()
@Module({})
export class ServerCoreModule {
  static forRoot(opts: ServerCoreOptions): DynamicModule {
    return {
      module: ServerCoreModule,
      providers: [
        { provide: COMMON_CONFIG, useValue: opts.config },
        { provide: LOGGER, useValue: opts.logger },
        { provide: SECRET_KEY, useValue: opts.config.secrets.key },
        { provide: SANDBOX_LIMITS, useValue: opts.sandbox ?? DEFAULT_SANDBOX_LIMITS },
        { provide: SSO_OPTIONS, useValue: opts.sso ?? null },
        {
          provide: AUTH_OPTIONS,
          useValue: opts.auth ?? {
            sessionSecret: 'unused-in-this-process',
            sessionTtlHours: 1,
            loginMaxAttempts: 0,
            loginWindowSeconds: 1,
            apiKeyCacheSeconds: 0,
            loginIpMaxAttempts: 0,
            loginGlobalPerSecond: 1,
            loginHashConcurrency: 1,
            loginHashQueue: 0,
            apiKeyCacheSize: 1000,
            apiKeyMissCacheSize: 1000,
          },
        },
        ...services,
      ],
      exports: [COMMON_CONFIG, LOGGER, AUTH_OPTIONS, SECRET_KEY, ...services],
    };
  }
}
