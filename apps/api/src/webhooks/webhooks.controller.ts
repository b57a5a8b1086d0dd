import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  ZCreatedWebhook,
  ZCreateWebhookRequest,
  ZWebhook,
  ZWebhookDelivery,
  type TCreateWebhookRequest,
} from '@modelyard/contracts';
import { WebhooksService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict } from '../common/zod.pipe.js';

@ApiTags('webhooks')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @RequirePermission('webhooks.read')
  @Get()
  @ApiZodResponse(200, z.array(ZWebhook))
  list(@Actor() actor: Principal) {
    return this.webhooks.list(actor);
  }

  @RequirePermission('webhooks.write')
  @Post()
  @ApiZodBody(ZCreateWebhookRequest)
  @ApiZodResponse(201, ZCreatedWebhook, 'The signing secret is in this response only')
  create(@Actor() actor: Principal, @Body(strict(ZCreateWebhookRequest)) body: TCreateWebhookRequest) {
    return this.webhooks.create(actor, body);
  }

  @RequirePermission('webhooks.write')
  @Delete(':id')
  @HttpCode(204)
  async delete(@Actor() actor: Principal, @Param('id', ParseUUIDPipe) id: string) {
    await this.webhooks.delete(actor, id);
  }

  @RequirePermission('webhooks.read')
  @Get(':id/deliveries')
  @ApiZodResponse(200, z.array(ZWebhookDelivery))
  deliveries(@Actor() actor: Principal, @Param('id', ParseUUIDPipe) id: string) {
    return this.webhooks.deliveries(actor, id);
  }
}
