import { Readable } from 'node:stream';
import { Controller, Delete, Get, Param, Put, Query, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ZMlflowArtifactList, ZMlflowEmpty, ZMlflowListArtifactsQuery } from '@modelyard/contracts';
import { MLFLOW_PROTOCOL, MlflowTrackingService, type Principal } from '@modelyard/server';
import { Actor, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { ProtocolErrors } from '../serving/protocol-errors.js';

const PREFIX = '/api/2.0/mlflow-artifacts/artifacts/';
/** The content type uploads are re-labelled with, so they reach the handler as the raw request stream. */
const RAW_UPLOAD = 'application/x-modelyard-mlflow-artifact';

/**
 * MLflow's artifact uploads are a PUT of the file's bytes with whatever Content-Type the client guessed
 * (application/json for a .json file, text/plain, ...), which Fastify would otherwise parse or refuse. The upload
 * routes get an onRequest hook that relabels the request, and that label's parser hands over the stream
 * unread: storage meters it against MAX_UPLOAD_BYTES as it writes (Fastify's body limit is for parsed bodies).
 * Only these routes pay for it: other routes get no hook. Call before the app is initialized.
 */
export function registerMlflowArtifactUploads(fastify: FastifyInstance) {
  fastify.addContentTypeParser(RAW_UPLOAD, (_req, payload, done) => done(null, payload));
  fastify.addHook('onRoute', (route) => {
    if (![route.method].flat().includes('PUT') || !route.url.startsWith(PREFIX)) return;
    const relabel = (req: FastifyRequest, _reply: FastifyReply, done: () => void) => {
      req.headers['content-type'] = RAW_UPLOAD;
      done();
    };
    route.onRequest = [...[route.onRequest ?? []].flat(), relabel];
  });
}

/**
 * MLflow's proxied artifact store (`mlflow-artifacts:` URIs, `/api/2.0/mlflow-artifacts/artifacts/<path>`), which
 * `mlflow server --serve-artifacts` offers and the client uses for a run's files. Paths are checked
 * (mlflow/mlflow-artifacts.ts) and always inside one run's artifact folder in Modelyard's storage.
 */
@ApiTags('mlflow')
@ProtocolErrors(MLFLOW_PROTOCOL)
@Controller('api/2.0/mlflow-artifacts')
export class MlflowArtifactsController {
  constructor(private readonly tracking: MlflowTrackingService) {}

  @RequirePermission('models.write')
  @Put('artifacts/*')
  @ApiConsumes('*/*')
  @ApiZodResponse(200, ZMlflowEmpty)
  async upload(@Actor() a: Principal, @Param('*') path: string, @Req() req: FastifyRequest) {
    // No body at all (a zero-byte file, sent without Content-Type) never reaches the parser: store it empty.
    const body = req.body instanceof Readable ? req.body : Readable.from([]);
    await this.tracking.putArtifact(a, path, body);
    return {};
  }

  @RequirePermission('models.read')
  @Get('artifacts')
  @ApiZodResponse(200, ZMlflowArtifactList)
  async list(
    @Actor() a: Principal,
    @Query(zod(ZMlflowListArtifactsQuery)) q: z.output<typeof ZMlflowListArtifactsQuery>,
  ) {
    return { files: await this.tracking.listArtifacts(a, q.path) };
  }

  @RequirePermission('models.read')
  @Get('artifacts/*')
  async download(@Actor() a: Principal, @Param('*') path: string, @Res() reply: FastifyReply) {
    const f = await this.tracking.getArtifact(a, path);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(f.sizeBytes))
      .send(f.stream);
  }

  @RequirePermission('models.write')
  @Delete('artifacts/*')
  @ApiZodResponse(200, ZMlflowEmpty)
  async remove(@Actor() a: Principal, @Param('*') path: string) {
    await this.tracking.deleteArtifact(a, path);
    return {};
  }
}
