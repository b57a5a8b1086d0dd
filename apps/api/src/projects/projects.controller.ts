import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  ZCreateProjectRequest,
  ZGrantSubjectKind,
  ZProject,
  ZProjectGrant,
  ZPutGrantRequest,
  ZUpdateProjectRequest,
  type TCreateProjectRequest,
  type TPutGrantRequest,
  type TUpdateProjectRequest,
} from '@modelyard/contracts';
import { ProjectsService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';

/** The projects a caller has a role in; platform admins create them. */
@ApiTags('projects')
@Controller('v1/projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @RequirePermission('projects.read')
  @Get()
  @ApiZodResponse(200, z.array(ZProject))
  list(@Actor() actor: Principal) {
    return this.projects.list(actor);
  }

  @RequirePermission('projects.write')
  @Post()
  @ApiZodBody(ZCreateProjectRequest)
  @ApiZodResponse(201, ZProject)
  create(@Actor() actor: Principal, @Body(strict(ZCreateProjectRequest)) body: TCreateProjectRequest) {
    return this.projects.create(actor, body);
  }
}

/**
 * The project the caller acts in: `/v1/projects/{p}` and `/v1/projects/{p}/grants` arrive here as `/v1/project`
 * and `/v1/project/grants` (common/project-url.ts); bare, they are the default project (or a key's own).
 */
@ApiTags('projects')
@Controller('v1/project')
export class ProjectController {
  constructor(private readonly projects: ProjectsService) {}

  @RequirePermission('projects.read')
  @Get()
  @ApiZodResponse(200, ZProject)
  get(@Actor() actor: Principal) {
    return this.projects.get(actor);
  }

  /** Its admins edit the description; quotas need a platform admin. */
  @RequirePermission('projects.grants')
  @Patch()
  @ApiZodBody(ZUpdateProjectRequest)
  @ApiZodResponse(200, ZProject)
  update(@Actor() actor: Principal, @Body(strict(ZUpdateProjectRequest)) body: TUpdateProjectRequest) {
    return this.projects.update(actor, body);
  }

  @RequirePermission('projects.write')
  @Delete()
  @HttpCode(204)
  async delete(@Actor() actor: Principal) {
    await this.projects.delete(actor);
  }

  @RequirePermission('projects.grants')
  @Get('grants')
  @ApiZodResponse(200, z.array(ZProjectGrant))
  grants(@Actor() actor: Principal) {
    return this.projects.grants(actor);
  }

  @RequirePermission('projects.grants')
  @Put('grants')
  @ApiZodBody(ZPutGrantRequest)
  @ApiZodResponse(200, ZProjectGrant)
  setGrant(@Actor() actor: Principal, @Body(strict(ZPutGrantRequest)) body: TPutGrantRequest) {
    return this.projects.setGrant(actor, body);
  }

  @RequirePermission('projects.grants')
  @Delete('grants/:kind/:id')
  @HttpCode(204)
  async removeGrant(
    @Actor() actor: Principal,
    @Param('kind', zod(ZGrantSubjectKind)) kind: 'user' | 'group',
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    await this.projects.removeGrant(actor, { kind, id });
  }
}
