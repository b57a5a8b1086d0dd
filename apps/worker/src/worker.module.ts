import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { WorkerConfig } from '@modelyard/config';
import { DeploymentGuardService, JOB_HANDLERS, MaintenanceService, PredictionIngestService, RegistryValidationService, ServerCoreModule, WebhooksService, type JobHandler } from '@modelyard/server';
import { WorkerService } from './worker.service.js';
import { WORKER_CONFIG } from './tokens.js';

/** Handlers are listed here once; adding a job to JOBS without adding its handler stops the worker at boot. */
const HANDLERS = [MaintenanceService, RegistryValidationService, WebhooksService, PredictionIngestService, DeploymentGuardService];

@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig, logger: Logger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ServerCoreModule.forRoot({ config, logger })],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        { provide: JOB_HANDLERS, useFactory: (...hs: JobHandler[]) => hs, inject: HANDLERS },
        WorkerService,
      ],
    };
  }
}
