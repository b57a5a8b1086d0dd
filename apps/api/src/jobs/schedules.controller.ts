import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZSchedule, ZScheduleSpec, type TScheduleSpec } from '@modelyard/contracts';
import { SchedulesService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';

const ZId = z.string().uuid();

/** Scheduled scoring: a cron expression, a model and a storage prefix whose new files are scored once each. */
@ApiTags('jobs')
@Controller('v1/schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @RequirePermission('jobs.read')
  @Get()
  @ApiZodResponse(200, z.array(ZSchedule))
  list(@Actor() actor: Principal) {
    return this.schedules.list(actor);
  }

  @RequirePermission('jobs.write')
  @Post()
  @HttpCode(201)
  @ApiZodBody(ZScheduleSpec)
  @ApiZodResponse(201, ZSchedule)
  create(@Actor() actor: Principal, @Body(strict(ZScheduleSpec)) body: TScheduleSpec) {
    return this.schedules.create(actor, body);
  }

  @RequirePermission('jobs.write')
  @Post(':id/pause')
  @HttpCode(200)
  @ApiZodResponse(200, ZSchedule)
  pause(@Actor() actor: Principal, @Param('id', zod(ZId)) id: string) {
    return this.schedules.setPaused(actor, id, true);
  }

  @RequirePermission('jobs.write')
  @Post(':id/resume')
  @HttpCode(200)
  @ApiZodResponse(200, ZSchedule)
  resume(@Actor() actor: Principal, @Param('id', zod(ZId)) id: string) {
    return this.schedules.setPaused(actor, id, false);
  }

  /** Runs the schedule now, once, besides its cron ticks. */
  @RequirePermission('jobs.write')
  @Post(':id/run')
  @HttpCode(202)
  @ApiZodResponse(202, ZSchedule)
  run(@Actor() actor: Principal, @Param('id', zod(ZId)) id: string) {
    return this.schedules.runNow(actor, id);
  }

  @RequirePermission('jobs.write')
  @Delete(':id')
  @HttpCode(204)
  async remove(@Actor() actor: Principal, @Param('id', zod(ZId)) id: string) {
    await this.schedules.remove(actor, id);
  }
}
