import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  ZAlert,
  ZAlertQuery,
  ZAlertRules,
  ZModelName,
  ZPutAlertRulesRequest,
  ZSloQuery,
  ZSloReport,
} from '@modelyard/contracts';
import { AlertsService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';

@ApiTags('alerts')
@Controller('v1')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @RequirePermission('drift.read')
  @Get('models/:name/alert-rules')
  @ApiZodResponse(200, ZAlertRules)
  getRules(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    return this.alerts.getRules(actor, name);
  }

  /** Replaces the model's rules; alerts of removed rules resolve at the next evaluation. */
  @RequirePermission('drift.write')
  @Put('models/:name/alert-rules')
  @ApiZodBody(ZPutAlertRulesRequest)
  @ApiZodResponse(200, ZAlertRules)
  putRules(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Body(strict(ZPutAlertRulesRequest)) body: z.output<typeof ZPutAlertRulesRequest>,
  ) {
    return this.alerts.putRules(actor, name, body);
  }

  /** The latency SLO (from the alert rules, 300 ms by default) and its error budget over a range. */
  @RequirePermission('metrics.read')
  @Get('models/:name/slo')
  @ApiZodResponse(200, ZSloReport)
  slo(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Query(zod(ZSloQuery)) q: z.output<typeof ZSloQuery>,
  ) {
    return this.alerts.slo(actor, name, q);
  }

  @RequirePermission('drift.read')
  @Get('alerts')
  @ApiZodResponse(200, z.array(ZAlert))
  list(@Actor() actor: Principal, @Query(zod(ZAlertQuery)) q: z.output<typeof ZAlertQuery>) {
    return this.alerts.list(actor, q);
  }
}
