import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZAliasName, ZModelName, ZServingStatus, ZTfsModelMetadata } from '@modelyard/contracts';
import {
  PredictionService,
  renderTfsMetadata,
  TFS_PROTOCOL,
  tfsVersionStatus,
  type Principal,
} from '@modelyard/server';
import { ProtocolErrors } from './protocol-errors.js';
import { Actor, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';

const ZVersionNumber = z.coerce.number().int().min(1).max(2_147_483_647);

/**
 * TF Serving / KServe v1 / Vertex AI (PROTOCOLS.md section 3): label status and model metadata. Predict
 * (`POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict`) is the predict router's (TFS_PROTOCOL). A label is
 * an alias. Status (`GET /v1/models/{name}[/versions/{v}]`) lives on the registry's routes, which add `ready` and
 * `model_version_status`.
 */
@ApiTags('tfs')
@ProtocolErrors(TFS_PROTOCOL)
@Controller('v1/models')
export class TfsController {
  constructor(private readonly predictions: PredictionService) {}

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
}
