import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ZLiveResponse, ZReadyResponse } from '@modelyard/contracts';
import { HealthService } from '@modelyard/server';
import { ApiZodResponse, Public } from '../common/decorators.js';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** Liveness: the process answers. Never checks dependencies, so a DB outage does not restart every pod. */
  @Public()
  @Get('healthz')
  @ApiZodResponse(200, ZLiveResponse)
  live() {
    return { status: 'ok' };
  }

  @Public()
  @Get('readyz')
  @ApiZodResponse(200, ZReadyResponse)
  @ApiZodResponse(503, ZReadyResponse, 'Not ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const r = await this.health.readiness();
    void reply.status(r.ready ? 200 : 503);
    return r;
  }
}
