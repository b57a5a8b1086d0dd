import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZCreateServiceAccountRequest, ZServiceAccount, type TCreateServiceAccountRequest } from '@modelyard/contracts';
import { ServiceAccountsService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';

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
  create(@Actor() actor: Principal, @Body(zod(ZCreateServiceAccountRequest)) body: TCreateServiceAccountRequest) {
    return this.accounts.create(actor, body);
  }
}
