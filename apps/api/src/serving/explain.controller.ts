import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ZAliasName,
  ZExplainRequest,
  ZExplainResponse,
  ZModelName,
  ZOipExplainResponse,
  ZOipInferRequest,
  ZImportanceQuery,
  ZVersionImportance,
  type TExplainRequest,
} from '@modelyard/contracts';
import type { ApiConfig } from '@modelyard/config';
import { ExplainService, OIP_V2_PROTOCOL, type Principal } from '@modelyard/server';
import { ProtocolErrors } from './protocol-errors.js';
import { routingKeyOf } from './prediction-metrics.js';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { API_CONFIG } from '../tokens.js';

const ZVersionNumber = z.coerce.number().int().min(1).max(2_147_483_647);

/** OIP's model_version is a string: digits name a version, anything else an alias. */
const ZOipVersion = z
  .string()
  .transform((v, ctx): { version: number } | { alias: string } => {
    if (!/^\d+$/.test(v)) return { alias: v };
    const n = Number(v);
    if (n >= 1 && n <= 2_147_483_647) return { version: n };
    ctx.addIssue({ code: 'custom', message: 'The version must be a whole number from 1 to 2147483647' });
    return z.NEVER;
  })
  .pipe(z.union([z.object({ version: z.number() }), z.object({ alias: ZAliasName })]));

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

  /** Global importance of a version (mean |contribution| over its reference rows): a read, for the dashboard too. */
  @RequirePermission('models.read')
  @Get('versions/:version/importance')
  @ApiZodResponse(200, ZVersionImportance)
  importance(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
    @Query(zod(ZImportanceQuery)) q: z.output<typeof ZImportanceQuery>,
  ) {
    return this.explain.importance(actor, name, version, q.source);
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

/**
 * Open Inference Protocol v2's explain (`POST /v2/models/{name}[/versions/{v}]/explain`, the route KServe-compatible
 * servers give it; OIP itself defines none): an OIP inference request, explained by the same ExplainService as the
 * v1 route and answered as OIP output tensors, errors in OIP's `{"error": "..."}` shape. As for infer, `{v}` is a
 * version number or an alias. Project-qualified URLs (`/projects/{p}/v2/...`) reach it through the URL rewrite.
 */
@ApiTags('oip-v2')
@ProtocolErrors(OIP_V2_PROTOCOL)
@Controller('v2/models/:name')
export class OipExplainController {
  constructor(
    private readonly explain: ExplainService,
    @Inject(API_CONFIG) private readonly cfg: ApiConfig,
  ) {}

  @RequirePermission('predict')
  @Post('explain')
  @HttpCode(200)
  @ApiZodBody(ZOipInferRequest)
  @ApiZodResponse(200, ZOipExplainResponse)
  model(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    // Checked against the chosen version's signature by parseOip, as infer bodies are (names, datatypes, shapes).
    @Body() body: unknown,
    @Req() req: FastifyRequest,
  ) {
    return this.explain.explainOip(actor, name, routed(req), body, this.cfg.serving.rateLimit);
  }

  @RequirePermission('predict')
  @Post('versions/:version/explain')
  @HttpCode(200)
  @ApiZodBody(ZOipInferRequest)
  @ApiZodResponse(200, ZOipExplainResponse)
  version(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZOipVersion)) sel: { version: number } | { alias: string },
    @Body() body: unknown,
  ) {
    return this.explain.explainOip(actor, name, sel, body, this.cfg.serving.rateLimit);
  }
}
