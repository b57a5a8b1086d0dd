import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  ZDeployment, ZDeploymentRevision, ZDeploymentRevisions, ZModelName, ZPutDeploymentRequest, ZRollbackRequest,
  type TPutDeploymentRequest, type TRollbackRequest,
} from '@modelyard/contracts';
import { DeploymentsService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';

@ApiTags('deployments')
@Controller('v1/models/:name/deployment')
export class DeploymentsController {
  constructor(private readonly deployments: DeploymentsService) {}

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
  put(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string, @Body(zod(ZPutDeploymentRequest)) body: TPutDeploymentRequest) {
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
  rollback(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string, @Body(zod(ZRollbackRequest)) body: TRollbackRequest) {
    return this.deployments.rollback(actor, name, body);
  }
}
