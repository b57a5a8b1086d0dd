import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  ZCreateGroupRequest,
  ZGroup,
  ZMemberRef,
  ZPrincipalKind,
  type TCreateGroupRequest,
  type TMemberRef,
} from '@modelyard/contracts';
import { GroupsService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';

@ApiTags('groups')
@Controller('v1/groups')
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @RequirePermission('groups.read')
  @Get()
  @ApiZodResponse(200, z.array(ZGroup))
  list(@Actor() actor: Principal) {
    return this.groups.list(actor);
  }

  @RequirePermission('groups.write')
  @Post()
  @ApiZodBody(ZCreateGroupRequest)
  @ApiZodResponse(201, ZGroup)
  create(@Actor() actor: Principal, @Body(strict(ZCreateGroupRequest)) body: TCreateGroupRequest) {
    return this.groups.create(actor, body);
  }

  @RequirePermission('groups.write')
  @Delete(':id')
  @HttpCode(204)
  async delete(@Actor() actor: Principal, @Param('id', ParseUUIDPipe) id: string) {
    await this.groups.delete(actor, id);
  }

  @RequirePermission('groups.write')
  @Post(':id/members')
  @ApiZodBody(ZMemberRef)
  @ApiZodResponse(201, ZGroup)
  addMember(
    @Actor() actor: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body(strict(ZMemberRef)) body: TMemberRef,
  ) {
    return this.groups.addMember(actor, id, body);
  }

  @RequirePermission('groups.write')
  @Delete(':id/members/:kind/:memberId')
  @ApiZodResponse(200, ZGroup)
  removeMember(
    @Actor() actor: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('kind', zod(ZPrincipalKind)) kind: TMemberRef['kind'],
    @Param('memberId', ParseUUIDPipe) memberId: string,
  ) {
    return this.groups.removeMember(actor, id, { kind, id: memberId });
  }
}
