import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  ZCreateServiceAccountRequest,
  ZServiceAccount,
  ZUpdateServiceAccountRequest,
  type TCreateServiceAccountRequest,
  type TUpdateServiceAccountRequest,
} from '@modelyard/contracts';
import { ServiceAccountsService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict } from '../common/zod.pipe.js';

@ApiTags('service-accounts')
@Controller('v1/service-accounts')
export class ServiceAccountsController {
  constructor(private readonly accounts: ServiceAccountsService) {}

  @RequirePermission('serviceAccounts.read')
  @Get()
  @ApiZodResponse(200, z.array(ZServiceAccount))
  list(@Actor() actor: Principal) {
    return this.accounts.list(actor);
  }

  @RequirePermission('serviceAccounts.write')
  @Post()
  @ApiZodBody(ZCreateServiceAccountRequest)
  @ApiZodResponse(201, ZServiceAccount)
  create(@Actor() actor: Principal, @Body(strict(ZCreateServiceAccountRequest)) body: TCreateServiceAccountRequest) {
    return this.accounts.create(actor, body);
  }

  /** Role, description, disabled: a lowered role or a disable applies to the account's API keys at once. */
  @RequirePermission('serviceAccounts.write')
  @Patch(':id')
  @ApiZodBody(ZUpdateServiceAccountRequest)
  @ApiZodResponse(200, ZServiceAccount)
  update(
    @Actor() actor: Principal,
    @Param('id') id: string,
    @Body(strict(ZUpdateServiceAccountRequest)) body: TUpdateServiceAccountRequest,
  ) {
    return this.accounts.update(actor, id, body);
  }
}
