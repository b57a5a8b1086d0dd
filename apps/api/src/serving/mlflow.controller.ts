import { Controller, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZModelName } from '@modelyard/contracts';
import type { ApiConfig } from '@modelyard/config';
import { PredictionService, ServingMetrics, type Principal } from '@modelyard/server';
import { answerOnFramework, MLFLOW_FORMAT } from './predict-call.js';
import { ProtocolErrors } from './protocol-errors.js';
import { Actor, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { API_CONFIG } from '../tokens.js';

const INVOCATIONS_DOC = {
  schema: {
    type: 'object',
    properties: { dataframe_split: { type: 'object' }, dataframe_records: { type: 'array' }, instances: { type: 'array' }, inputs: {}, params: { type: 'object' } },
    example: { dataframe_split: { columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'], data: [[5.1, 3.5, 1.4, 0.2]] } },
  },
};

/**
 * MLflow scoring (`mlflow models serve`'s `/invocations`, PROTOCOLS.md section 2) on a model's Production
 * version: JSON (`dataframe_split`, `dataframe_records`, `instances`, `inputs`) or `text/csv`; anything else 415.
 * Errors: `{"error_code": "...", "message": "..."}`.
 */
@ApiTags('mlflow')
@ProtocolErrors('mlflow')
@Controller('v1/models/:name')
export class MlflowController {
  constructor(
    readonly predictions: PredictionService,
    readonly metrics: ServingMetrics,
    @Inject(API_CONFIG) readonly cfg: ApiConfig,
  ) {}

  @RequirePermission('predict')
  @Post('invocations')
  @HttpCode(200)
  @ApiConsumes('application/json', 'text/csv')
  @ApiBody(INVOCATIONS_DOC)
  invocations(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return answerOnFramework(this, MLFLOW_FORMAT, actor, name, {}, req, reply);
  }
}
