import { Controller, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ZAliasName, ZModelName, ZPredictRequest, ZPredictResponse } from '@modelyard/contracts';
import type { ApiConfig } from '@modelyard/config';
import { PredictionService, ServingMetrics, type Principal, type VersionSelector } from '@modelyard/server';
import { answerOnFramework, MODELYARD_FORMAT } from './predict-call.js';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { API_CONFIG } from '../tokens.js';

const ZVersionNumber = z.coerce.number().int().min(1).max(2_147_483_647);

/**
 * The Modelyard contract: `{"payload": [...]}` on a model (Production), a version or an alias. The version
 * that answered is in `X-Model-Version`; `X-Deployment-Role` says production or explicit.
 */
@ApiTags('predict')
@Controller('v1/models/:name')
export class PredictController {
  constructor(
    readonly predictions: PredictionService,
    readonly metrics: ServingMetrics,
    @Inject(API_CONFIG) readonly cfg: ApiConfig,
  ) {}

  @RequirePermission('predict')
  @Post('predict')
  @HttpCode(200)
  @ApiZodBody(ZPredictRequest)
  @ApiZodResponse(200, ZPredictResponse)
  production(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.predict(actor, name, {}, req, reply);
  }

  @RequirePermission('predict')
  @Post('versions/:version/predict')
  @HttpCode(200)
  @ApiZodBody(ZPredictRequest)
  @ApiZodResponse(200, ZPredictResponse)
  version(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.predict(actor, name, { version }, req, reply);
  }

  @RequirePermission('predict')
  @Post('aliases/:alias/predict')
  @HttpCode(200)
  @ApiZodBody(ZPredictRequest)
  @ApiZodResponse(200, ZPredictResponse)
  alias(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('alias', zod(ZAliasName)) alias: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.predict(actor, name, { alias }, req, reply);
  }

  private predict(actor: Principal, name: string, sel: VersionSelector, req: FastifyRequest, reply: FastifyReply) {
    return answerOnFramework(this, MODELYARD_FORMAT, actor, name, sel, req, reply);
  }
}
