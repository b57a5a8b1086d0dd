import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  APPROVAL_STATUSES,
  ZApproval,
  ZApprovalDecision,
  ZModelName,
  type TApprovalDecision,
} from '@modelyard/contracts';
import { RegistryService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';

const ZApprovalQuery = z.object({ status: z.enum(APPROVAL_STATUSES).optional(), model: ZModelName.optional() });

@ApiTags('approvals')
@Controller('v1/approvals')
export class ApprovalsController {
  constructor(private readonly registry: RegistryService) {}

  @RequirePermission('models.read')
  @Get()
  @ApiZodResponse(200, z.array(ZApproval))
  list(@Actor() actor: Principal, @Query(zod(ZApprovalQuery)) q: z.output<typeof ZApprovalQuery>) {
    return this.registry.listApprovals(actor, q);
  }

  @RequirePermission('models.promote')
  @Post(':id/approve')
  @HttpCode(200)
  @ApiZodBody(ZApprovalDecision)
  @ApiZodResponse(200, ZApproval)
  approve(
    @Actor() actor: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body(strict(ZApprovalDecision)) body: TApprovalDecision,
  ) {
    return this.registry.decideApproval(actor, id, true, body.comment);
  }

  @RequirePermission('models.promote')
  @Post(':id/reject')
  @HttpCode(200)
  @ApiZodBody(ZApprovalDecision)
  @ApiZodResponse(200, ZApproval)
  reject(
    @Actor() actor: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body(strict(ZApprovalDecision)) body: TApprovalDecision,
  ) {
    return this.registry.decideApproval(actor, id, false, body.comment);
  }
}
