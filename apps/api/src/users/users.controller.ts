import { Body, Controller, Get, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  ZCreateUserRequest,
  ZUpdateUserRequest,
  ZUser,
  ZUserList,
  type TCreateUserRequest,
  type TUpdateUserRequest,
} from '@modelyard/contracts';
import { UsersService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod } from '../common/zod.pipe.js';

const ZPageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});

@ApiTags('users')
@Controller('v1/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @RequirePermission('users.read')
  @Get()
  @ApiZodResponse(200, ZUserList)
  list(@Actor() actor: Principal, @Query(zod(ZPageQuery)) q: z.output<typeof ZPageQuery>) {
    return this.users.list(actor, q);
  }

  @RequirePermission('users.write')
  @Post()
  @ApiZodBody(ZCreateUserRequest)
  @ApiZodResponse(201, ZUser)
  create(@Actor() actor: Principal, @Body(strict(ZCreateUserRequest)) body: TCreateUserRequest) {
    return this.users.create(actor, body);
  }

  @RequirePermission('users.write')
  @Patch(':id')
  @ApiZodBody(ZUpdateUserRequest)
  @ApiZodResponse(200, ZUser)
  update(
    @Actor() actor: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body(strict(ZUpdateUserRequest)) body: TUpdateUserRequest,
  ) {
    return this.users.update(actor, id, body);
  }
}
