import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  ZModelName,
  ZOipLive,
  ZOipModelMetadata,
  ZOipModelReady,
  ZOipReady,
  ZOipServerMetadata,
} from '@modelyard/contracts';
import {
  AppError,
  HealthService,
  OIP_V2_PROTOCOL,
  PredictionService,
  renderOipMetadata,
  ServingService,
  type Principal,
  type VersionSelector,
} from '@modelyard/server';
import { ProtocolErrors } from './protocol-errors.js';
import { Actor, ApiZodResponse, Public, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { API_VERSION } from '../openapi/document.js';

const ZVersionNumber = z.coerce.number().int().min(1).max(2_147_483_647);

/**
 * Open Inference Protocol v2 (KServe v2) over REST (PROTOCOLS.md section 1): health, server and model metadata,
 * readiness. Inference (`POST .../infer`) is the predict router's (OIP_V2_PROTOCOL). Health and server metadata
 * are public, as probes expect; model routes need `predict`. Errors: `{"error": "..."}`.
 */
@ApiTags('oip-v2')
@ProtocolErrors(OIP_V2_PROTOCOL)
@Controller('v2')
export class OipV2Controller {
  constructor(
    private readonly predictions: PredictionService,
    private readonly serving: ServingService,
    private readonly health: HealthService,
  ) {}

  @Public()
  @Get()
  @ApiZodResponse(200, ZOipServerMetadata)
  server() {
    // Triton's name for the binary tensor extension, which clients may look for here.
    return { name: 'modelyard', version: API_VERSION, extensions: ['binary_tensor_data'] };
  }

  @Public()
  @Get('health/live')
  @ApiZodResponse(200, ZOipLive)
  live() {
    return { live: true };
  }

  /** Ready when the serving cache has booted and no Production version is still warming (the `models` check of /readyz). */
  @Public()
  @Get('health/ready')
  @ApiZodResponse(200, ZOipReady)
  @ApiZodResponse(503, ZOipReady, 'Not ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const r = await this.health.readiness();
    const ready = r.checks.models?.ok ?? r.ready;
    void reply.status(ready ? 200 : 503);
    return { ready };
  }

  @RequirePermission('predict')
  @Get('models/:name')
  @ApiZodResponse(200, ZOipModelMetadata)
  metadata(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    return this.modelMetadata(actor, name, {});
  }

  @RequirePermission('predict')
  @Get('models/:name/versions/:version')
  @ApiZodResponse(200, ZOipModelMetadata)
  versionMetadata(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
  ) {
    return this.modelMetadata(actor, name, { version });
  }

  @RequirePermission('predict')
  @Get('models/:name/ready')
  @ApiZodResponse(200, ZOipModelReady)
  modelReady(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    return this.isReady(actor, name, {});
  }

  @RequirePermission('predict')
  @Get('models/:name/versions/:version/ready')
  @ApiZodResponse(200, ZOipModelReady)
  versionReady(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
  ) {
    return this.isReady(actor, name, { version });
  }

  private async modelMetadata(actor: Principal, name: string, sel: VersionSelector) {
    const { served } = await this.predictions.select(actor, name, sel);
    const state = this.serving.state(name);
    const versions = new Set([served.version, ...(state?.aliases.values() ?? [])]);
    if (state?.production) versions.add(state.production);
    return renderOipMetadata(
      served,
      [...versions].sort((a, b) => a - b),
    );
  }

  /**
   * 404 for an unknown model or version, 503 for one that cannot answer (nothing in Production, still being
   * validated, artifact failed to load). A version that exists but is not loaded here yet is loaded by this
   * call, as an infer would load it, so "ready" means the next infer answers without waiting.
   */
  private async isReady(actor: Principal, name: string, sel: VersionSelector) {
    try {
      await this.predictions.select(actor, name, sel);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('NOT_READY', `Model ${name} could not be loaded`);
    }
    return { name, ready: true };
  }
}
