import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { ZOverviewPage, ZOverviewQuery } from '@modelyard/contracts';
import { OverviewService, type Principal } from '@modelyard/server';
import { Actor, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';

/** Not under /v1/models/: a model may be named "overview". */
@ApiTags('models')
@Controller('v1')
export class OverviewController {
  constructor(private readonly overview: OverviewService) {}

  /** Every model the caller may read with serving, traffic (steps of the range), SLO, drift and alerts; paged. */
  @RequirePermission('models.read')
  @Get('overview')
  @ApiZodResponse(200, ZOverviewPage)
  page(@Actor() actor: Principal, @Query(zod(ZOverviewQuery)) q: z.output<typeof ZOverviewQuery>) {
    return this.overview.page(actor, q);
  }
}
