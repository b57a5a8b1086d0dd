import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { WorkerConfig } from '@modelyard/config';
import {
  AsyncPredictionService,
  BatchAssembleService,
  BatchChunkService,
  BatchInlineService,
  BatchScoringService,
  DeploymentGuardService,
  JOB_HANDLERS,
  MaintenanceService,
  PredictionCallbackService,
  PredictionIngestService,
  RegistrySweepService,
  RegistryValidationService,
  SchedulesService,
  ServerCoreModule,
  SERVING_OPTIONS,
  ServingMetrics,
  ServingService,
  WebhookDeliveryService,
  DriftProfilerService,
  DriftFoldService,
  DriftAdhocService,
  AlertEvaluatorService,
  ReconcilerService,
  WorkerMetrics,
  OutboxPoller,
  ComparisonsRepository,
  PredictionService,
  ExplainService,
  RateLimiter,
  RollupsService,
  ShadowService,
  StreamRunner,
  STREAM_RUNNER_OPTIONS,
  type JobHandler,
} from '@modelyard/server';
import { WorkerService } from './worker.service.js';
import { WORKER_CONFIG } from './tokens.js';

/** Handlers are listed here once; adding a job to JOBS without adding its handler stops the worker at boot. */
const HANDLERS = [
  MaintenanceService,
  RegistryValidationService,
  RegistrySweepService,
  WebhookDeliveryService,
  PredictionIngestService,
  DeploymentGuardService,
  AsyncPredictionService,
  PredictionCallbackService,
  BatchScoringService,
  BatchChunkService,
  BatchAssembleService,
  SchedulesService,
  DriftProfilerService,
  DriftFoldService,
  DriftAdhocService,
  AlertEvaluatorService,
  ReconcilerService,
];

@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig, logger: Logger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ServerCoreModule.forRoot({ config, logger, sandbox: config.worker.validation })],
      providers: [
        // The handlers that need the engine; the others come from ServerCoreModule.
        AsyncPredictionService,
        PredictionCallbackService,
        BatchScoringService,
        BatchChunkService,
        BatchAssembleService,
        BatchInlineService,
        SchedulesService,
        ReconcilerService,
        WorkerMetrics,
        OutboxPoller,
        { provide: WORKER_CONFIG, useValue: config },
        // Async predictions and batch jobs run the engine here; versions load when a job needs them.
        { provide: SERVING_OPTIONS, useValue: { warmAtBoot: false } },
        ServingService,
        ServingMetrics,
        // Stream deployments score records as sync traffic is served: pilots, and silent copies (ShadowService).
        PredictionService,
        // Batch jobs' contribution columns (output.contributions) explain rows as POST /explain does.
        ExplainService,
        RateLimiter,
        RollupsService,
        ComparisonsRepository,
        ShadowService,
        { provide: STREAM_RUNNER_OPTIONS, useValue: config.worker.streams },
        StreamRunner,
        { provide: JOB_HANDLERS, useFactory: (...hs: JobHandler[]) => hs, inject: HANDLERS },
        WorkerService,
      ],
    };
  }
}
