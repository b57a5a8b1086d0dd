import { Controller, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZMlflowInvocationsRequest, ZMlflowInvocationsResponse, ZModelName } from '@modelyard/contracts';
import type { ApiConfig } from '@modelyard/config';
import { PredictionService, ServingMetrics, type Principal } from '@modelyard/server';
import { answerOnFramework, MLFLOW_FORMAT } from './predict-call.js';
import { ProtocolErrors } from './protocol-errors.js';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { API_CONFIG } from '../tokens.js';

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
  @ApiZodBody(ZMlflowInvocationsRequest)
  @ApiZodResponse(200, ZMlflowInvocationsResponse)
  invocations(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return answerOnFramework(this, MLFLOW_FORMAT, actor, name, {}, req, reply);
  }
}
