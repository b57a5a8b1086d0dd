import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZApiKey, ZCreateApiKeyRequest, ZCreatedApiKey, type TCreateApiKeyRequest } from '@modelyard/contracts';
import { ApiKeysService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict } from '../common/zod.pipe.js';

@ApiTags('api-keys')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @RequirePermission('apiKeys.own')
  @Get()
  @ApiZodResponse(200, z.array(ZApiKey))
  list(@Actor() actor: Principal) {
    return this.keys.list(actor);
  }

  @RequirePermission('apiKeys.own')
  @Post()
  @ApiZodBody(ZCreateApiKeyRequest)
  @ApiZodResponse(201, ZCreatedApiKey, 'The secret is in this response only')
  create(@Actor() actor: Principal, @Body(strict(ZCreateApiKeyRequest)) body: TCreateApiKeyRequest) {
    return this.keys.create(actor, body);
  }

  @RequirePermission('apiKeys.own')
  @Post(':id/revoke')
  @HttpCode(200)
  @ApiZodResponse(200, ZApiKey)
  revoke(@Actor() actor: Principal, @Param('id', ParseUUIDPipe) id: string) {
    return this.keys.revoke(actor, id);
  }
}
