import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  ZFeedbackRequest,
  ZFeedbackResult,
  ZModelName,
  ZPerformanceQuery,
  ZPerformanceReport,
  ZPilotComparison,
  ZPilotComparisonQuery,
} from '@modelyard/contracts';
import { FEEDBACK_TYPES, FeedbackService, PerformanceService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';

@ApiTags('performance')
@Controller('v1/models/:name')
export class FeedbackController {
  constructor(
    private readonly feedback: FeedbackService,
    private readonly performance: PerformanceService,
  ) {}

  /**
   * Labels for predictions, by prediction id or entity id: one item, `{labels}`, CSV or JSON Lines. The body's
   * shape depends on its media type, so the service parses it (ZFeedbackRequest for JSON).
   */
  @RequirePermission('feedback.write')
  @Post('feedback')
  @HttpCode(200)
  @ApiConsumes(...FEEDBACK_TYPES)
  @ApiZodBody(ZFeedbackRequest)
  @ApiZodResponse(200, ZFeedbackResult)
  submit(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
  ) {
    return this.feedback.submit(actor, name, body, contentType);
  }

  @RequirePermission('performance.read')
  @Get('performance')
  @ApiZodResponse(200, ZPerformanceReport)
  report(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Query(zod(ZPerformanceQuery)) q: z.output<typeof ZPerformanceQuery>,
  ) {
    return this.performance.report(actor, name, q);
  }

  /** A pilot's or silent version's labelled traffic against production's: difference, interval, p-value, verdict. */
  @RequirePermission('performance.read')
  @Get('performance/compare')
  @ApiZodResponse(200, ZPilotComparison)
  compare(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Query(zod(ZPilotComparisonQuery)) q: z.output<typeof ZPilotComparisonQuery>,
  ) {
    return this.performance.compare(actor, name, q);
  }
}
