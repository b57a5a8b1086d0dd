import { Body, Controller, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ZAliasName, ZExplainRequest, ZExplainResponse, ZModelName, type TExplainRequest } from '@modelyard/contracts';
import type { ApiConfig } from '@modelyard/config';
import { ExplainService, type Principal } from '@modelyard/server';
import { routingKeyOf } from './prediction-metrics.js';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { API_CONFIG } from '../tokens.js';

const ZVersionNumber = z.coerce.number().int().min(1).max(2_147_483_647);

/**
 * Explanations (issue 18): `POST /v1/models/{name}[/versions/{v}|/aliases/{a}]/explain` with the Modelyard
 * predict body answers each row's per-feature contributions (ExplainService). The predict routes' `?explain=true`
 * (the predict router) gives the same next to the prediction. Same permission and rate limit as predict.
 */
@ApiTags('predict')
@Controller('v1/models/:name')
export class ExplainController {
  constructor(
    private readonly explain: ExplainService,
    @Inject(API_CONFIG) private readonly cfg: ApiConfig,
  ) {}

  @RequirePermission('predict')
  @Post('explain')
  @HttpCode(200)
  @ApiZodBody(ZExplainRequest)
  @ApiZodResponse(200, ZExplainResponse)
  model(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Body(zod(ZExplainRequest)) body: TExplainRequest,
    @Req() req: FastifyRequest,
  ) {
    return this.explain.explain(actor, name, routed(req), body, this.cfg.serving.rateLimit);
  }

  @RequirePermission('predict')
  @Post('versions/:version/explain')
  @HttpCode(200)
  @ApiZodBody(ZExplainRequest)
  @ApiZodResponse(200, ZExplainResponse)
  version(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
    @Body(zod(ZExplainRequest)) body: TExplainRequest,
  ) {
    return this.explain.explain(actor, name, { version }, body, this.cfg.serving.rateLimit);
  }

  @RequirePermission('predict')
  @Post('aliases/:alias/explain')
  @HttpCode(200)
  @ApiZodBody(ZExplainRequest)
  @ApiZodResponse(200, ZExplainResponse)
  alias(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('alias', zod(ZAliasName)) alias: string,
    @Body(zod(ZExplainRequest)) body: TExplainRequest,
  ) {
    return this.explain.explain(actor, name, { alias }, body, this.cfg.serving.rateLimit);
  }
}

/** X-Routing-Key picks the same pilot a prediction with it would get. */
function routed(req: FastifyRequest): { routingKey?: string } {
  const rk = routingKeyOf(req);
  return rk ? { routingKey: rk } : {};
}
