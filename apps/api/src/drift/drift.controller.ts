import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  ZAdhocDriftReport,
  ZCreateDriftReportRequest,
  ZDriftHistogram,
  ZDriftHistogramQuery,
  ZDriftLatestQuery,
  ZDriftProfile,
  ZDriftSeries,
  ZDriftSeriesQuery,
  ZDriftWindowReport,
  ZModelName,
  type TCreateDriftReportRequest,
} from '@modelyard/contracts';
import { DriftService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';

const ZVersion = z.coerce.number().int().min(1).max(2_147_483_647);

@ApiTags('drift')
@Controller('v1/models/:name')
export class DriftController {
  constructor(private readonly drift: DriftService) {}

  /** Per-window, per-column status, PSI, JS and p-value of one version (default: Production). */
  @RequirePermission('drift.read')
  @Get('drift')
  @ApiZodResponse(200, ZDriftSeries)
  series(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Query(zod(ZDriftSeriesQuery)) q: z.output<typeof ZDriftSeriesQuery>,
  ) {
    return this.drift.series(actor, name, q);
  }

  /** The newest window's full report. */
  @RequirePermission('drift.read')
  @Get('drift/latest')
  @ApiZodResponse(200, ZDriftWindowReport)
  latest(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Query(zod(ZDriftLatestQuery)) q: z.output<typeof ZDriftLatestQuery>,
  ) {
    return this.drift.latest(actor, name, q);
  }

  /** One column's reference and current counts over the profile's bins, in one window. */
  @RequirePermission('drift.read')
  @Get('drift/histogram')
  @ApiZodResponse(200, ZDriftHistogram)
  histogram(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Query(zod(ZDriftHistogramQuery)) q: z.output<typeof ZDriftHistogramQuery>,
  ) {
    return this.drift.histogram(actor, name, q);
  }

  @RequirePermission('drift.read')
  @Get('versions/:version/drift-profile')
  @ApiZodResponse(200, ZDriftProfile)
  profile(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersion)) version: number,
  ) {
    return this.drift.profile(actor, name, version);
  }

  /** Rebuilds the profile from the version's stored reference dataset. */
  @RequirePermission('drift.write')
  @Post('versions/:version/drift-profile')
  @HttpCode(202)
  @ApiZodResponse(202, z.object({ queued: z.literal(true) }), 'The profile is being rebuilt')
  rebuildProfile(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersion)) version: number,
  ) {
    return this.drift.rebuildProfile(actor, name, version);
  }

  /** An ad hoc report of a dataset in storage (CSV with a header, or reference.json-shaped JSON); poll the GET. */
  @RequirePermission('drift.write')
  @Post('versions/:version/drift-reports')
  @HttpCode(202)
  @ApiZodBody(ZCreateDriftReportRequest)
  @ApiZodResponse(202, ZAdhocDriftReport)
  createReport(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersion)) version: number,
    @Body(strict(ZCreateDriftReportRequest)) body: TCreateDriftReportRequest,
  ) {
    return this.drift.createReport(actor, name, version, body);
  }

  @RequirePermission('drift.read')
  @Get('versions/:version/drift-reports/:id')
  @ApiZodResponse(200, ZAdhocDriftReport)
  getReport(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersion)) version: number,
    @Param('id', zod(z.uuid())) id: string,
  ) {
    return this.drift.getReport(actor, name, version, id);
  }
}
