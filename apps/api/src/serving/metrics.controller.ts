import { Controller, Get, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ServingMetrics } from '@modelyard/server';
import { RequirePermission } from '../common/decorators.js';

/** Prometheus text format. Scrape with a key holding models:read (see deploy/ for the ServiceMonitor). */
@ApiTags('metrics')
@Controller()
export class MetricsController {
  constructor(private readonly metrics: ServingMetrics) {}

  @RequirePermission('metrics.read')
  @Get('metrics')
  @ApiProduces('text/plain')
  async scrape(@Res() reply: FastifyReply) {
    return reply.header('content-type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
