import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ZAliasName,
  ZCreateModelRequest,
  ZHistoryEntry,
  ZListModelsQuery,
  ZMetrics,
  ZModelName,
  ZModelPage,
  ZModelVersion,
  ZRegisteredModel,
  ZRegisterVersionSpec,
  ZServingStatus,
  ZSetAliasRequest,
  ZStageTransitionRequest,
  ZStageTransitionResult,
  ZTags,
  ZUpdateModelRequest,
  type TCreateModelRequest,
  type TListModelsQuery,
  type TModelVersion,
  type TRegisteredModel,
  type TSetAliasRequest,
  type TStageTransitionRequest,
  type TUpdateModelRequest,
} from '@modelyard/contracts';
import { can, RegistryService, ServingService, tfsVersionStatus, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { strict, zod, ZodPipe } from '../common/zod.pipe.js';
import { specThenFile } from '../common/multipart.js';

const ZVersionNumber = z.coerce.number().int().min(1).max(2_147_483_647);
const ZUpdateVersionRequest = z
  .object({ description: z.string().max(10_000), tags: ZTags, metrics: ZMetrics })
  .partial();
const ZDeleteAliasQuery = z.object({ comment: z.string().max(2000).default('') });
const specPipe = new ZodPipe(ZRegisterVersionSpec, true);

/**
 * TF Serving (`model_version_status`) and KServe v1 (`ready`) clients poll these same URLs, so the model and
 * version answers carry what this api process serves. AVAILABLE: loaded and warm here. LOADING: still being
 * validated, or Production/aliased (loaded eagerly) and not in yet. UNAVAILABLE: failed validation, or a version
 * nothing pins that is not loaded (its first request by number loads it).
 */
function modelStatus(serving: ServingService, m: TRegisteredModel) {
  const pinned = [...new Set([m.productionVersion, ...Object.values(m.aliases)])]
    .filter((n) => n !== null)
    .sort((a, b) => b - a);
  return {
    ready: m.productionVersion !== null && serving.isReady(m.name, m.productionVersion),
    model_version_status: pinned.map((n) => tfsVersionStatus(n, serving.isReady(m.name, n) ? 'AVAILABLE' : 'LOADING')),
  };
}

function versionStatus(serving: ServingService, v: TModelVersion) {
  const loaded = serving.isReady(v.model, v.version);
  const pinned = v.stage === 'Production' || v.aliases.length > 0;
  const state = loaded
    ? 'AVAILABLE'
    : v.status === 'pending' || (v.status === 'ready' && pinned)
      ? 'LOADING'
      : 'UNAVAILABLE';
  const error = v.status === 'failed' ? (v.failureReason ?? 'failed validation') : undefined;
  return { ready: loaded, model_version_status: [tfsVersionStatus(v.version, state, error)] };
}

/**
 * The registry service wants models.read; a predict-only key may poll serving status, so it reads with that
 * scope added (one its owner's role always has) and is shown the status fields only, not the registry record.
 */
const statusReader = (actor: Principal): Principal =>
  can(actor, 'models.read') ? actor : { ...actor, scopes: [...(actor.scopes ?? []), 'models:read'] };

@ApiTags('models')
@Controller('v1/models')
export class ModelsController {
  constructor(
    private readonly registry: RegistryService,
    private readonly serving: ServingService,
  ) {}

  @RequirePermission('models.read')
  @Get()
  @ApiZodResponse(200, ZModelPage)
  list(@Actor() actor: Principal, @Query(zod(ZListModelsQuery)) q: TListModelsQuery) {
    return this.registry.listModels(actor, q);
  }

  @RequirePermission('models.write')
  @Post()
  @ApiZodBody(ZCreateModelRequest)
  @ApiZodResponse(201, ZRegisteredModel)
  create(@Actor() actor: Principal, @Body(strict(ZCreateModelRequest)) body: TCreateModelRequest) {
    return this.registry.createModel(actor, body);
  }

  @RequirePermission('models.status')
  @Get(':name')
  @ApiZodResponse(
    200,
    z.union([ZRegisteredModel, ZServingStatus]),
    'The model with its serving status (a predict-only key gets name, ready and model_version_status)',
  )
  async get(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    const m = await this.registry.getModel(statusReader(actor), name);
    const status = modelStatus(this.serving, m);
    return can(actor, 'models.read') ? { ...m, ...status } : { name: m.name, ...status };
  }

  @RequirePermission('models.write')
  @Patch(':name')
  @ApiZodBody(ZUpdateModelRequest)
  @ApiZodResponse(200, ZRegisteredModel)
  update(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Body(strict(ZUpdateModelRequest)) body: TUpdateModelRequest,
  ) {
    return this.registry.updateModel(actor, name, body);
  }

  @RequirePermission('models.promote')
  @Delete(':name')
  @HttpCode(204)
  async delete(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    await this.registry.deleteModel(actor, name);
  }

  @RequirePermission('models.read')
  @Get(':name/versions')
  @ApiZodResponse(200, z.array(ZModelVersion))
  versions(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    return this.registry.listVersions(actor, name);
  }

  /**
   * Multipart: a `spec` field (JSON, ZRegisterVersionSpec) first, then the `file` part, which is streamed into
   * storage as it arrives. Or JSON: the spec with `artifactUri` for an artifact already in storage.
   * Answers 202: the version is `pending` until the worker has validated it.
   */
  @RequirePermission('models.write')
  @Post(':name/versions')
  @HttpCode(202)
  @ApiConsumes('multipart/form-data', 'application/json')
  @ApiZodBody(ZRegisterVersionSpec)
  @ApiZodResponse(202, ZModelVersion)
  async register(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string, @Req() req: FastifyRequest) {
    if (!req.isMultipart()) return this.registry.registerVersion(actor, name, specPipe.transform(req.body), null);
    return specThenFile(
      req,
      (spec, file) => this.registry.registerVersion(actor, name, specPipe.transform(spec), file),
      {
        specRequired: false,
        missingFile: 'No `file` part in the upload',
      },
    );
  }

  @RequirePermission('models.status')
  @Get(':name/versions/:version')
  @ApiZodResponse(
    200,
    z.union([ZModelVersion, ZServingStatus]),
    'The version with its serving status (a predict-only key gets name, ready and model_version_status)',
  )
  async version(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
  ) {
    const v = await this.registry.getVersion(statusReader(actor), name, version);
    const status = versionStatus(this.serving, v);
    return can(actor, 'models.read') ? { ...v, ...status } : { name: v.model, ...status };
  }

  @RequirePermission('models.write')
  @Patch(':name/versions/:version')
  @ApiZodBody(ZUpdateVersionRequest)
  @ApiZodResponse(200, ZModelVersion)
  updateVersion(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
    @Body(strict(ZUpdateVersionRequest)) body: z.output<typeof ZUpdateVersionRequest>,
  ) {
    return this.registry.updateVersion(actor, name, version, body);
  }

  @RequirePermission('models.write')
  @Delete(':name/versions/:version')
  @HttpCode(204)
  async deleteVersion(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
  ) {
    await this.registry.deleteVersion(actor, name, version);
  }

  /** Streams the artifact with its SHA-256 so the client can verify what it got. */
  @RequirePermission('models.read')
  @Get(':name/versions/:version/artifact')
  async artifact(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
    @Res() reply: FastifyReply,
  ) {
    const a = await this.registry.download(actor, name, version);
    void reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${a.filename}"`);
    if (a.sizeBytes !== null) void reply.header('content-length', String(a.sizeBytes));
    if (a.sha256) {
      void reply
        .header('x-checksum-sha256', a.sha256)
        .header('digest', `sha-256=${Buffer.from(a.sha256, 'hex').toString('base64')}`);
    }
    return reply.send(a.stream);
  }

  @RequirePermission('models.write')
  @Post(':name/versions/:version/stage')
  @ApiZodBody(ZStageTransitionRequest)
  @ApiZodResponse(200, ZStageTransitionResult, 'Transitioned')
  @ApiZodResponse(202, ZStageTransitionResult, 'An approval request was created (the model requires approval)')
  async stage(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('version', zod(ZVersionNumber)) version: number,
    @Body(strict(ZStageTransitionRequest)) body: TStageTransitionRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const r = await this.registry.transition(actor, name, version, body);
    void reply.status(r.outcome === 'approval_requested' ? 202 : 200);
    return r;
  }

  @RequirePermission('models.write')
  @Put(':name/aliases/:alias')
  @ApiZodBody(ZSetAliasRequest)
  @ApiZodResponse(200, ZRegisteredModel)
  setAlias(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('alias', zod(ZAliasName)) alias: string,
    @Body(strict(ZSetAliasRequest)) body: TSetAliasRequest,
  ) {
    return this.registry.setAlias(actor, name, alias, body);
  }

  @RequirePermission('models.write')
  @Delete(':name/aliases/:alias')
  @ApiZodResponse(200, ZRegisteredModel)
  deleteAlias(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('alias', zod(ZAliasName)) alias: string,
    @Query(zod(ZDeleteAliasQuery)) q: z.output<typeof ZDeleteAliasQuery>,
  ) {
    return this.registry.deleteAlias(actor, name, alias, q.comment);
  }

  @RequirePermission('models.read')
  @Get(':name/history')
  @ApiZodResponse(200, z.array(ZHistoryEntry))
  history(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string) {
    return this.registry.history(actor, name);
  }
}
