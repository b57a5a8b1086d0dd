import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { ZMetricSeries, ZMetricSeriesQuery, ZModelName } from '@modelyard/contracts';
import { RollupsService, ServingMetrics, type Principal } from '@modelyard/server';
import { Actor, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { clusterMetricsText, inCluster } from '../cluster.js';

/** Prometheus text format. Scrape with a key holding models:read (see deploy/ for the ServiceMonitor). */
@ApiTags('metrics')
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: ServingMetrics,
    private readonly rollups: RollupsService,
  ) {}

  /** Per-minute requests, errors and p50/p95/p99 per version and role, merged across api processes. */
  @RequirePermission('metrics.read')
  @Get('v1/models/:name/metrics')
  @ApiZodResponse(200, ZMetricSeries)
  series(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Query(zod(ZMetricSeriesQuery)) q: z.output<typeof ZMetricSeriesQuery>,
  ) {
    return this.rollups.series(actor, name, q);
  }

  @RequirePermission('metrics.read')
  @Get('metrics')
  @ApiProduces('text/plain')
  async scrape(@Res() reply: FastifyReply) {
    // One scrape lands on one api process of a cluster: it answers for all of them, summed.
    const text = inCluster() ? await clusterMetricsText() : await this.metrics.registry.metrics();
    return reply.header('content-type', this.metrics.registry.contentType).send(text);
  }
}
