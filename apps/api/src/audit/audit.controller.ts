import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZAuditPage, ZAuditQuery, type TAuditQuery } from '@modelyard/contracts';
import { AuditService, type Principal } from '@modelyard/server';
import { Actor, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';

@ApiTags('audit')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @RequirePermission('audit.read')
  @Get()
  @ApiZodResponse(200, ZAuditPage)
  list(@Actor() actor: Principal, @Query(zod(ZAuditQuery)) q: TAuditQuery) {
    return this.audit.list(actor, q);
  }
}
