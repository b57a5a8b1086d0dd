import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  ZCreateStreamRequest,
  ZModelName,
  ZRewindStreamRequest,
  ZStreamDeployment,
  ZStreamName,
  ZUpdateStreamRequest,
  type TCreateStreamRequest,
  type TRewindStreamRequest,
  type TUpdateStreamRequest,
} from '@modelyard/contracts';
import { StreamsService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';

/** A model's stream deployments: a source stream scored record by record into a sink stream. */
@ApiTags('streams')
@Controller('v1/models/:name/streams')
export class StreamsController {
  constructor(private readonly streams: StreamsService) {}

  @RequirePermission('jobs.read')
  @Get()
  @ApiZodResponse(200, z.array(ZStreamDeployment))
  list(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    return this.streams.list(actor, name);
  }

  @RequirePermission('jobs.write')
  @Post()
  @HttpCode(201)
  @ApiZodBody(ZCreateStreamRequest)
  @ApiZodResponse(201, ZStreamDeployment)
  create(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Body(strict(ZCreateStreamRequest)) body: TCreateStreamRequest,
  ) {
    return this.streams.create(actor, name, body);
  }

  @RequirePermission('jobs.read')
  @Get(':stream')
  @ApiZodResponse(200, ZStreamDeployment)
  get(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('stream', zod(ZStreamName)) stream: string,
  ) {
    return this.streams.get(actor, name, stream);
  }

  @RequirePermission('jobs.write')
  @Patch(':stream')
  @ApiZodBody(ZUpdateStreamRequest)
  @ApiZodResponse(200, ZStreamDeployment)
  update(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('stream', zod(ZStreamName)) stream: string,
    @Body(strict(ZUpdateStreamRequest)) body: TUpdateStreamRequest,
  ) {
    return this.streams.update(actor, name, stream, body);
  }

  @RequirePermission('jobs.write')
  @Post(':stream/pause')
  @HttpCode(200)
  @ApiZodResponse(200, ZStreamDeployment)
  pause(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('stream', zod(ZStreamName)) stream: string,
  ) {
    return this.streams.update(actor, name, stream, { paused: true });
  }

  @RequirePermission('jobs.write')
  @Post(':stream/resume')
  @HttpCode(200)
  @ApiZodResponse(200, ZStreamDeployment)
  resume(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('stream', zod(ZStreamName)) stream: string,
  ) {
    return this.streams.update(actor, name, stream, { paused: false });
  }

  /** Records after an id, or added from a time on, are delivered again. */
  @RequirePermission('jobs.write')
  @Post(':stream/rewind')
  @HttpCode(200)
  @ApiZodBody(ZRewindStreamRequest)
  @ApiZodResponse(200, ZStreamDeployment)
  rewind(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('stream', zod(ZStreamName)) stream: string,
    @Body(strict(ZRewindStreamRequest)) body: TRewindStreamRequest,
  ) {
    return this.streams.rewind(actor, name, stream, body);
  }

  @RequirePermission('jobs.write')
  @Delete(':stream')
  @HttpCode(204)
  async remove(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('stream', zod(ZStreamName)) stream: string,
  ) {
    await this.streams.remove(actor, name, stream);
  }
}

/** Every stream deployment the caller may see, with its lag (the dashboard's and the CLI's list). */
@ApiTags('streams')
@Controller('v1/streams')
export class AllStreamsController {
  constructor(private readonly streams: StreamsService) {}

  @RequirePermission('jobs.read')
  @Get()
  @ApiZodResponse(200, z.array(ZStreamDeployment))
  list(@Actor() actor: Principal) {
    return this.streams.list(actor);
  }
}
