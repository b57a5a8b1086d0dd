import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { z } from 'zod';
import { ApiTags } from '@nestjs/swagger';
import {
  ZDeployment,
  ZDeploymentComparison,
  ZDeploymentRevision,
  ZDeploymentRevisions,
  ZModelName,
  ZPromotePilotRequest,
  ZPutDeploymentRequest,
  ZRollbackRequest,
  ZStageTransitionResult,
  type TPromotePilotRequest,
  type TPutDeploymentRequest,
  type TRollbackRequest,
} from '@modelyard/contracts';
import { DeploymentsService, ShadowService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';

const ZComparisonQuery = z.object({
  version: z.coerce.number().int().min(1),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

const ZPromotePilotResult = z.object({ transition: ZStageTransitionResult, revision: ZDeploymentRevision.nullable() });

@ApiTags('deployments')
@Controller('v1/models/:name/deployment')
export class DeploymentsController {
  constructor(
    private readonly deployments: DeploymentsService,
    private readonly shadow: ShadowService,
  ) {}

  /** How a silent version compares with production: label agreement, probability difference, latency, errors. */
  @RequirePermission('models.read')
  @Get('comparison')
  @ApiZodResponse(200, ZDeploymentComparison)
  comparison(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Query(zod(ZComparisonQuery)) q: z.output<typeof ZComparisonQuery>,
  ) {
    return this.shadow.comparison(actor, name, q.version, q);
  }

  @RequirePermission('models.read')
  @Get()
  @ApiZodResponse(200, ZDeployment)
  get(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    return this.deployments.get(actor, name);
  }

  @RequirePermission('models.write')
  @Put()
  @ApiZodBody(ZPutDeploymentRequest)
  @ApiZodResponse(200, ZDeploymentRevision)
  put(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Body(strict(ZPutDeploymentRequest)) body: TPutDeploymentRequest,
  ) {
    return this.deployments.put(actor, name, body);
  }

  @RequirePermission('models.read')
  @Get('revisions')
  @ApiZodResponse(200, ZDeploymentRevisions)
  revisions(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    return this.deployments.revisions(actor, name);
  }

  @RequirePermission('models.write')
  @Post('rollback')
  @HttpCode(200)
  @ApiZodBody(ZRollbackRequest)
  @ApiZodResponse(200, ZDeploymentRevision)
  rollback(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Body(strict(ZRollbackRequest)) body: TRollbackRequest,
  ) {
    return this.deployments.rollback(actor, name, body);
  }

  @RequirePermission('models.promote')
  @Post('promote-pilot')
  @HttpCode(200)
  @ApiZodBody(ZPromotePilotRequest)
  @ApiZodResponse(200, ZPromotePilotResult)
  promotePilot(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Body(strict(ZPromotePilotRequest)) body: TPromotePilotRequest,
  ) {
    return this.deployments.promotePilot(actor, name, body);
  }
}
