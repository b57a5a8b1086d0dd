import { Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ZAliasName,
  ZModelName,
  ZServingStatus,
  ZTfsModelMetadata,
  ZTfsPredictRequest,
  ZTfsPredictResponse,
} from '@modelyard/contracts';
import type { ApiConfig } from '@modelyard/config';
import {
  PredictionService,
  renderTfsMetadata,
  ServingMetrics,
  tfsVersionStatus,
  type Principal,
  type VersionSelector,
} from '@modelyard/server';
import { answerOnFramework, TFS_FORMAT } from './predict-call.js';
import { ProtocolErrors } from './protocol-errors.js';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { API_CONFIG } from '../tokens.js';

const ZVersionNumber = z.coerce.number().int().min(1).max(2_147_483_647);

/**
 * TF Serving / KServe v1 / Vertex AI predict (PROTOCOLS.md section 3): `POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict`.
 * A label is an alias. Status (`GET /v1/models/{name}[/versions/{v}]`) lives on the registry's routes, which add
 * `ready` and `model_version_status`; the label status and metadata routes are here.
 *
 * Literal colons: in find-my-way (Fastify's router) `::` is a literal `:`, but a parameter's name runs until
 * `/`, `-`, `.` or `(`, so `:name::predict` would be ONE parameter named `name::predict` that matches any segment
 * (`/v1/models/iris`, colon or not). Ending the parameter with a regex, `:name(^[^/:]+)::predict`, makes
 * `:predict` a static suffix of the segment. @nestjs/swagger drops `(^...)` groups, so the OpenAPI path reads
 * `/v1/models/{name}:predict` and the authz matrix walks it like any other route.
 */
@ApiTags('tfs')
@ProtocolErrors('tfs')
@Controller('v1/models')
export class TfsController {
  constructor(
    readonly predictions: PredictionService,
    readonly metrics: ServingMetrics,
    @Inject(API_CONFIG) readonly cfg: ApiConfig,
  ) {}

  @RequirePermission('predict')
  @Post(':name(^[^/:]+)::predict')
  @HttpCode(200)
  @ApiZodBody(ZTfsPredictRequest)
  @ApiZodResponse(200, ZTfsPredictResponse)
  predict(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.run(actor, name, {}, req, reply);
  }

  @RequirePermission('predict')
  @Post(':name/versions/:version(^[^/:]+)::predict')
  @HttpCode(200)
  @ApiZodBody(ZTfsPredictRequest)
  @ApiZodResponse(200, ZTfsPredictResponse)
  predictVersion(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.run(actor, name, { version }, req, reply);
  }

  @RequirePermission('predict')
  @Post(':name/labels/:label(^[^/:]+)::predict')
  @HttpCode(200)
  @ApiZodBody(ZTfsPredictRequest)
  @ApiZodResponse(200, ZTfsPredictResponse)
  predictLabel(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('label', zod(ZAliasName)) label: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.run(actor, name, { alias: label }, req, reply);
  }

  /** TF Serving status of a label: the version it points to, loaded (on demand, as a predict would) and available. */
  @RequirePermission('predict')
  @Get(':name/labels/:label')
  @ApiZodResponse(200, ZServingStatus)
  async labelStatus(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('label', zod(ZAliasName)) label: string,
  ) {
    const { served } = await this.predictions.select(actor, name, { alias: label });
    return { name, ready: true, model_version_status: [tfsVersionStatus(served.version, 'AVAILABLE')] };
  }

  @RequirePermission('predict')
  @Get(':name/metadata')
  @ApiZodResponse(200, ZTfsModelMetadata)
  async metadata(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    return renderTfsMetadata((await this.predictions.select(actor, name, {})).served);
  }

  @RequirePermission('predict')
  @Get(':name/versions/:version/metadata')
  @ApiZodResponse(200, ZTfsModelMetadata)
  async versionMetadata(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
  ) {
    return renderTfsMetadata((await this.predictions.select(actor, name, { version })).served);
  }

  private run(actor: Principal, name: string, sel: VersionSelector, req: FastifyRequest, reply: FastifyReply) {
    return answerOnFramework(this, TFS_FORMAT, actor, name, sel, req, reply);
  }
}
