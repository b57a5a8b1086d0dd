import { Module, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import type { Logger } from 'pino';
import type { ApiConfig } from '@modelyard/config';
import {
  AuthService,
  JobsService,
  PredictionService,
  RateLimiter,
  RollupsService,
  SchedulesService,
  ServerCoreModule,
  ShadowService,
  ComparisonsRepository,
  ExplainService,
  ServingMetrics,
  ServingService,
  SsoService,
} from '@modelyard/server';
import { MetricsController } from './serving/metrics.controller.js';
import { DeploymentsController } from './deployments/deployments.controller.js';
import { OipV2Controller } from './serving/oip-v2.controller.js';
import { TfsController } from './serving/tfs.controller.js';
import { ExplainController, OipExplainController } from './serving/explain.controller.js';
import { AuthGuard } from './common/auth.guard.js';
import { MediaTypeGuard } from './common/media-type.guard.js';
import { ErrorFilter } from './common/error.filter.js';
import { HealthController } from './health/health.controller.js';
import { AuthController } from './auth/auth.controller.js';
import { LocalStrategy } from './auth/local.strategy.js';
import { SsoController } from './auth/sso.controller.js';
import { UsersController } from './users/users.controller.js';
import { GroupsController } from './groups/groups.controller.js';
import { ProjectController, ProjectsController } from './projects/projects.controller.js';
import { ServiceAccountsController } from './service-accounts/service-accounts.controller.js';
import { ApiKeysController } from './api-keys/api-keys.controller.js';
import { AuditController } from './audit/audit.controller.js';
import { ModelsController } from './registry/models.controller.js';
import { ApprovalsController } from './registry/approvals.controller.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { JobsController } from './jobs/jobs.controller.js';
import { SchedulesController } from './jobs/schedules.controller.js';
import { AsyncPredictController } from './serving/async-predict.controller.js';
import { DriftController } from './drift/drift.controller.js';
import { AlertsController } from './alerts/alerts.controller.js';
import { FeedbackController } from './feedback/feedback.controller.js';
import { OverviewController } from './overview/overview.controller.js';
import { MlflowRegistryController } from './mlflow/mlflow-registry.controller.js';
import { MlflowTrackingController } from './mlflow/mlflow-tracking.controller.js';
import { MlflowArtifactsController } from './mlflow/mlflow-artifacts.controller.js';
import { AllStreamsController, StreamsController } from './streams/streams.controller.js';
import { API_CONFIG } from './tokens.js';

/** Every controller, in the order the OpenAPI document lists their routes (the predict router's come after them). */
export const CONTROLLERS = [
  HealthController,
  AuthController,
  SsoController,
  UsersController,
  GroupsController,
  ProjectsController,
  ProjectController,
  ServiceAccountsController,
  ApiKeysController,
  AuditController,
  ModelsController,
  ApprovalsController,
  WebhooksController,
  MetricsController,
  DeploymentsController,
  OipV2Controller,
  TfsController,
  AsyncPredictController,
  ExplainController,
  OipExplainController,
  JobsController,
  SchedulesController,
  StreamsController,
  AllStreamsController,
  DriftController,
  AlertsController,
  FeedbackController,
  OverviewController,
  MlflowRegistryController,
  MlflowTrackingController,
  MlflowArtifactsController,
];

@Module({})
export class AppModule implements OnApplicationBootstrap {
  constructor(
    private readonly auth: AuthService,
    private readonly sso: SsoService,
  ) {}

  static forRoot(config: ApiConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [ServerCoreModule.forRoot({ config, logger, auth: config.auth, sso: config.oidc }), PassportModule],
      controllers: CONTROLLERS,
      providers: [
        { provide: API_CONFIG, useValue: config },
        // In this order: who the caller is and what they may do, then what they sent.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: MediaTypeGuard },
        { provide: APP_FILTER, useClass: ErrorFilter },
        LocalStrategy,
        // Only the api serves: the worker does not load every Production model.
        ServingService,
        PredictionService,
        ServingMetrics,
        RateLimiter,
        RollupsService,
        ShadowService,
        ComparisonsRepository,
        JobsService,
        SchedulesService,
        ExplainService,
      ],
    };
  }

  async onApplicationBootstrap() {
    await this.auth.start();
    await this.sso.start();
  }
}
