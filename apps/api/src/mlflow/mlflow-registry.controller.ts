import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  ZMlflowAliasRef,
  ZMlflowCreateModelVersion,
  ZMlflowCreateRegisteredModel,
  ZMlflowDeleteModelTag,
  ZMlflowDeleteVersionTag,
  ZMlflowDownloadUri,
  ZMlflowEmpty,
  ZMlflowGetLatestVersions,
  ZMlflowModelName,
  ZMlflowModelVersionList,
  ZMlflowModelVersionPage,
  ZMlflowModelVersionResponse,
  ZMlflowRegisteredModelPage,
  ZMlflowRegisteredModelResponse,
  ZMlflowRenameRegisteredModel,
  ZMlflowSearchQuery,
  ZMlflowSetAlias,
  ZMlflowSetModelTag,
  ZMlflowSetVersionTag,
  ZMlflowTransitionStage,
  ZMlflowUpdateModelVersion,
  ZMlflowUpdateRegisteredModel,
  ZMlflowVersionRef,
} from '@modelyard/contracts';
import { AppError, MLFLOW_PROTOCOL, MlflowRegistryService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { ProtocolErrors } from '../serving/protocol-errors.js';

type In<T extends z.ZodType> = z.output<T>;

/**
 * MLflow's model registry REST API (mlflow/protos/model_registry.proto), `/api/2.0/mlflow/registered-models/*`
 * and `/model-versions/*`, over Modelyard's registry (MlflowRegistryService): what `MlflowClient` and
 * `mlflow.register_model` call with MLFLOW_TRACKING_URI pointing here and MLFLOW_TRACKING_TOKEN set to an API key.
 * GETs take their fields as query parameters, the rest as a JSON body (DELETE included), as MLflow's client sends
 * them. Errors in MLflow's shape: `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}`.
 */
@ApiTags('mlflow')
@ProtocolErrors(MLFLOW_PROTOCOL)
@Controller('api/2.0/mlflow')
export class MlflowRegistryController {
  constructor(private readonly mlflow: MlflowRegistryService) {}

  @RequirePermission('models.write')
  @Post('registered-models/create')
  @HttpCode(200)
  @ApiZodBody(ZMlflowCreateRegisteredModel)
  @ApiZodResponse(200, ZMlflowRegisteredModelResponse)
  async createModel(
    @Actor() a: Principal,
    @Body(zod(ZMlflowCreateRegisteredModel)) b: In<typeof ZMlflowCreateRegisteredModel>,
  ) {
    return { registered_model: await this.mlflow.createModel(a, b) };
  }

  @RequirePermission('models.read')
  @Get('registered-models/get')
  @ApiZodResponse(200, ZMlflowRegisteredModelResponse)
  async getModel(@Actor() a: Principal, @Query(zod(ZMlflowModelName)) q: In<typeof ZMlflowModelName>) {
    return { registered_model: await this.mlflow.getModel(a, q.name) };
  }

  /**
   * Model names are in every prediction URL, storage path and deployment of Modelyard, so a model keeps its name:
   * answered INVALID_PARAMETER_VALUE (register under the new name instead).
   */
  @RequirePermission('models.write')
  @Post('registered-models/rename')
  @HttpCode(200)
  @ApiZodBody(ZMlflowRenameRegisteredModel)
  @ApiZodResponse(200, ZMlflowRegisteredModelResponse)
  async renameModel(
    @Actor() a: Principal,
    @Body(zod(ZMlflowRenameRegisteredModel)) b: In<typeof ZMlflowRenameRegisteredModel>,
  ) {
    await this.mlflow.getModel(a, b.name);
    throw new AppError(
      'VALIDATION_FAILED',
      'Modelyard does not rename registered models: a name is part of every prediction URL and deployment',
      { mlflowErrorCode: 'INVALID_PARAMETER_VALUE' },
    );
  }

  @RequirePermission('models.write')
  @Patch('registered-models/update')
  @ApiZodBody(ZMlflowUpdateRegisteredModel)
  @ApiZodResponse(200, ZMlflowRegisteredModelResponse)
  async updateModel(
    @Actor() a: Principal,
    @Body(zod(ZMlflowUpdateRegisteredModel)) b: In<typeof ZMlflowUpdateRegisteredModel>,
  ) {
    return { registered_model: await this.mlflow.updateModel(a, b.name, b.description) };
  }

  @RequirePermission('models.promote')
  @Delete('registered-models/delete')
  @ApiZodBody(ZMlflowModelName)
  @ApiZodResponse(200, ZMlflowEmpty)
  async deleteModel(@Actor() a: Principal, @Body(zod(ZMlflowModelName)) b: In<typeof ZMlflowModelName>) {
    await this.mlflow.deleteModel(a, b.name);
    return {};
  }

  @RequirePermission('models.read')
  @Get('registered-models/search')
  @ApiZodResponse(200, ZMlflowRegisteredModelPage)
  searchModels(@Actor() a: Principal, @Query(zod(ZMlflowSearchQuery)) q: In<typeof ZMlflowSearchQuery>) {
    return this.mlflow.searchModels(a, q);
  }

  @RequirePermission('models.read')
  @Post('registered-models/get-latest-versions')
  @HttpCode(200)
  @ApiZodBody(ZMlflowGetLatestVersions)
  @ApiZodResponse(200, ZMlflowModelVersionList)
  async latestVersions(
    @Actor() a: Principal,
    @Body(zod(ZMlflowGetLatestVersions)) b: In<typeof ZMlflowGetLatestVersions>,
  ) {
    return { model_versions: await this.mlflow.latestVersions(a, b.name, b.stages) };
  }

  @RequirePermission('models.read')
  @Get('registered-models/get-latest-versions')
  @ApiZodResponse(200, ZMlflowModelVersionList)
  async latestVersionsGet(
    @Actor() a: Principal,
    @Query(zod(ZMlflowGetLatestVersions)) q: In<typeof ZMlflowGetLatestVersions>,
  ) {
    return { model_versions: await this.mlflow.latestVersions(a, q.name, q.stages) };
  }

  @RequirePermission('models.write')
  @Post('registered-models/set-tag')
  @HttpCode(200)
  @ApiZodBody(ZMlflowSetModelTag)
  @ApiZodResponse(200, ZMlflowEmpty)
  async setModelTag(@Actor() a: Principal, @Body(zod(ZMlflowSetModelTag)) b: In<typeof ZMlflowSetModelTag>) {
    await this.mlflow.setModelTag(a, b.name, b.key, b.value);
    return {};
  }

  @RequirePermission('models.write')
  @Delete('registered-models/delete-tag')
  @ApiZodBody(ZMlflowDeleteModelTag)
  @ApiZodResponse(200, ZMlflowEmpty)
  async deleteModelTag(@Actor() a: Principal, @Body(zod(ZMlflowDeleteModelTag)) b: In<typeof ZMlflowDeleteModelTag>) {
    await this.mlflow.deleteModelTag(a, b.name, b.key);
    return {};
  }

  @RequirePermission('models.write')
  @Post('registered-models/alias')
  @HttpCode(200)
  @ApiZodBody(ZMlflowSetAlias)
  @ApiZodResponse(200, ZMlflowEmpty)
  async setAlias(@Actor() a: Principal, @Body(zod(ZMlflowSetAlias)) b: In<typeof ZMlflowSetAlias>) {
    await this.mlflow.setAlias(a, b.name, b.alias, b.version);
    return {};
  }

  @RequirePermission('models.write')
  @Delete('registered-models/alias')
  @ApiZodBody(ZMlflowAliasRef)
  @ApiZodResponse(200, ZMlflowEmpty)
  async deleteAlias(@Actor() a: Principal, @Body(zod(ZMlflowAliasRef)) b: In<typeof ZMlflowAliasRef>) {
    await this.mlflow.deleteAlias(a, b.name, b.alias);
    return {};
  }

  @RequirePermission('models.read')
  @Get('registered-models/alias')
  @ApiZodResponse(200, ZMlflowModelVersionResponse)
  async versionByAlias(@Actor() a: Principal, @Query(zod(ZMlflowAliasRef)) q: In<typeof ZMlflowAliasRef>) {
    return { model_version: await this.mlflow.versionByAlias(a, q.name, q.alias) };
  }

  // ---------------------------------------------------------------- model versions

  @RequirePermission('models.write')
  @Post('model-versions/create')
  @HttpCode(200)
  @ApiZodBody(ZMlflowCreateModelVersion)
  @ApiZodResponse(200, ZMlflowModelVersionResponse)
  async createVersion(
    @Actor() a: Principal,
    @Body(zod(ZMlflowCreateModelVersion)) b: In<typeof ZMlflowCreateModelVersion>,
  ) {
    return { model_version: await this.mlflow.createVersion(a, b) };
  }

  @RequirePermission('models.read')
  @Get('model-versions/get')
  @ApiZodResponse(200, ZMlflowModelVersionResponse)
  async getVersion(@Actor() a: Principal, @Query(zod(ZMlflowVersionRef)) q: In<typeof ZMlflowVersionRef>) {
    return { model_version: await this.mlflow.getVersion(a, q.name, q.version) };
  }

  @RequirePermission('models.write')
  @Patch('model-versions/update')
  @ApiZodBody(ZMlflowUpdateModelVersion)
  @ApiZodResponse(200, ZMlflowModelVersionResponse)
  async updateVersion(
    @Actor() a: Principal,
    @Body(zod(ZMlflowUpdateModelVersion)) b: In<typeof ZMlflowUpdateModelVersion>,
  ) {
    return { model_version: await this.mlflow.updateVersion(a, b.name, b.version, b.description) };
  }

  @RequirePermission('models.write')
  @Delete('model-versions/delete')
  @ApiZodBody(ZMlflowVersionRef)
  @ApiZodResponse(200, ZMlflowEmpty)
  async deleteVersion(@Actor() a: Principal, @Body(zod(ZMlflowVersionRef)) b: In<typeof ZMlflowVersionRef>) {
    await this.mlflow.deleteVersion(a, b.name, b.version);
    return {};
  }

  /** Deprecated in MLflow (aliases replace stages) and still what older code calls; Modelyard's stage rules apply. */
  @RequirePermission('models.write')
  @Post('model-versions/transition-stage')
  @HttpCode(200)
  @ApiZodBody(ZMlflowTransitionStage)
  @ApiZodResponse(200, ZMlflowModelVersionResponse)
  async transition(@Actor() a: Principal, @Body(zod(ZMlflowTransitionStage)) b: In<typeof ZMlflowTransitionStage>) {
    return {
      model_version: await this.mlflow.transition(a, b.name, b.version, b.stage, b.archive_existing_versions),
    };
  }

  @RequirePermission('models.read')
  @Get('model-versions/search')
  @ApiZodResponse(200, ZMlflowModelVersionPage)
  searchVersions(@Actor() a: Principal, @Query(zod(ZMlflowSearchQuery)) q: In<typeof ZMlflowSearchQuery>) {
    return this.mlflow.searchVersions(a, q);
  }

  @RequirePermission('models.read')
  @Get('model-versions/get-download-uri')
  @ApiZodResponse(200, ZMlflowDownloadUri)
  async downloadUri(@Actor() a: Principal, @Query(zod(ZMlflowVersionRef)) q: In<typeof ZMlflowVersionRef>) {
    return { artifact_uri: await this.mlflow.downloadUri(a, q.name, q.version) };
  }

  @RequirePermission('models.write')
  @Post('model-versions/set-tag')
  @HttpCode(200)
  @ApiZodBody(ZMlflowSetVersionTag)
  @ApiZodResponse(200, ZMlflowEmpty)
  async setVersionTag(@Actor() a: Principal, @Body(zod(ZMlflowSetVersionTag)) b: In<typeof ZMlflowSetVersionTag>) {
    await this.mlflow.setVersionTag(a, b.name, b.version, b.key, b.value);
    return {};
  }

  @RequirePermission('models.write')
  @Delete('model-versions/delete-tag')
  @ApiZodBody(ZMlflowDeleteVersionTag)
  @ApiZodResponse(200, ZMlflowEmpty)
  async deleteVersionTag(
    @Actor() a: Principal,
    @Body(zod(ZMlflowDeleteVersionTag)) b: In<typeof ZMlflowDeleteVersionTag>,
  ) {
    await this.mlflow.deleteVersionTag(a, b.name, b.version, b.key);
    return {};
  }
}
