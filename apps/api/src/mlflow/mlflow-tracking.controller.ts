import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  ZMlflowCreateRun,
  ZMlflowEmpty,
  ZMlflowExperimentByName,
  ZMlflowExperimentRef,
  ZMlflowExperimentResponse,
  ZMlflowLogBatch,
  ZMlflowLogMetric,
  ZMlflowLogParam,
  ZMlflowLoggedModelPage,
  ZMlflowSearchLoggedModels,
  ZMlflowRunInfoResponse,
  ZMlflowRunRef,
  ZMlflowRunResponse,
  ZMlflowSetRunTag,
  ZMlflowUpdateRun,
} from '@modelyard/contracts';
import { MLFLOW_PROTOCOL, MlflowTrackingService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { ProtocolErrors } from '../serving/protocol-errors.js';

type In<T extends z.ZodType> = z.output<T>;

/**
 * The tracking calls (mlflow/protos/service.proto) an MLflow client makes to upload a model before registering
 * it: the default experiment, runs and what is logged to them. Only experiment 0 ("Default") exists.
 */
@ApiTags('mlflow')
@ProtocolErrors(MLFLOW_PROTOCOL)
@Controller('api/2.0/mlflow')
export class MlflowTrackingController {
  constructor(private readonly tracking: MlflowTrackingService) {}

  @RequirePermission('models.read')
  @Get('experiments/get')
  @ApiZodResponse(200, ZMlflowExperimentResponse)
  getExperiment(@Actor() a: Principal, @Query(zod(ZMlflowExperimentRef)) q: In<typeof ZMlflowExperimentRef>) {
    return { experiment: this.tracking.experiment(a, { id: q.experiment_id }) };
  }

  @RequirePermission('models.read')
  @Get('experiments/get-by-name')
  @ApiZodResponse(200, ZMlflowExperimentResponse)
  experimentByName(@Actor() a: Principal, @Query(zod(ZMlflowExperimentByName)) q: In<typeof ZMlflowExperimentByName>) {
    return { experiment: this.tracking.experiment(a, { name: q.experiment_name }) };
  }

  @RequirePermission('models.write')
  @Post('runs/create')
  @HttpCode(200)
  @ApiZodBody(ZMlflowCreateRun)
  @ApiZodResponse(200, ZMlflowRunResponse)
  async createRun(@Actor() a: Principal, @Body(zod(ZMlflowCreateRun)) b: In<typeof ZMlflowCreateRun>) {
    return { run: await this.tracking.createRun(a, b) };
  }

  @RequirePermission('models.read')
  @Get('runs/get')
  @ApiZodResponse(200, ZMlflowRunResponse)
  async getRun(@Actor() a: Principal, @Query(zod(ZMlflowRunRef)) q: In<typeof ZMlflowRunRef>) {
    return { run: await this.tracking.getRun(a, q.run_id ?? q.run_uuid) };
  }

  @RequirePermission('models.write')
  @Post('runs/update')
  @HttpCode(200)
  @ApiZodBody(ZMlflowUpdateRun)
  @ApiZodResponse(200, ZMlflowRunInfoResponse)
  async updateRun(@Actor() a: Principal, @Body(zod(ZMlflowUpdateRun)) b: In<typeof ZMlflowUpdateRun>) {
    return { run_info: await this.tracking.updateRun(a, b) };
  }

  @RequirePermission('models.write')
  @Post('runs/log-batch')
  @HttpCode(200)
  @ApiZodBody(ZMlflowLogBatch)
  @ApiZodResponse(200, ZMlflowEmpty)
  async logBatch(@Actor() a: Principal, @Body(zod(ZMlflowLogBatch)) b: In<typeof ZMlflowLogBatch>) {
    await this.tracking.logBatch(a, b);
    return {};
  }

  @RequirePermission('models.write')
  @Post('runs/log-parameter')
  @HttpCode(200)
  @ApiZodBody(ZMlflowLogParam)
  @ApiZodResponse(200, ZMlflowEmpty)
  async logParam(@Actor() a: Principal, @Body(zod(ZMlflowLogParam)) b: In<typeof ZMlflowLogParam>) {
    await this.tracking.logBatch(a, { ...b, params: [{ key: b.key, value: b.value }], metrics: [], tags: [] });
    return {};
  }

  @RequirePermission('models.write')
  @Post('runs/log-metric')
  @HttpCode(200)
  @ApiZodBody(ZMlflowLogMetric)
  @ApiZodResponse(200, ZMlflowEmpty)
  async logMetric(@Actor() a: Principal, @Body(zod(ZMlflowLogMetric)) b: In<typeof ZMlflowLogMetric>) {
    const { key, value, timestamp, step } = b;
    await this.tracking.logBatch(a, { ...b, params: [], metrics: [{ key, value, timestamp, step }], tags: [] });
    return {};
  }

  @RequirePermission('models.write')
  @Post('runs/set-tag')
  @HttpCode(200)
  @ApiZodBody(ZMlflowSetRunTag)
  @ApiZodResponse(200, ZMlflowEmpty)
  async setTag(@Actor() a: Principal, @Body(zod(ZMlflowSetRunTag)) b: In<typeof ZMlflowSetRunTag>) {
    await this.tracking.logBatch(a, { ...b, params: [], metrics: [], tags: [{ key: b.key, value: b.value }] });
    return {};
  }

  /**
   * MLflow 3 logs models as "logged models" (mlflow.<flavor>.log_model); Modelyard keeps none, so a search finds
   * nothing. MlflowClient.list_artifacts searches them besides listing the run's own artifacts.
   */
  @RequirePermission('models.read')
  @Post('logged-models/search')
  @HttpCode(200)
  @ApiZodBody(ZMlflowSearchLoggedModels)
  @ApiZodResponse(200, ZMlflowLoggedModelPage)
  searchLoggedModels(@Actor() a: Principal, @Body(zod(ZMlflowSearchLoggedModels)) _b: unknown) {
    this.tracking.experiment(a, {});
    return { models: [] };
  }
}
