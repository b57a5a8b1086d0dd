import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ZBatchJobSpec, ZJob, ZJobPage, ZJobQuery } from '@modelyard/contracts';
import { JobsService, type Principal } from '@modelyard/server';
import { Actor, ApiZodBody, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { specThenFile } from '../common/multipart.js';

const ZJobId = z.string().uuid();
const ZFileKind = z.enum(['input', 'output', 'errors']);

/**
 * Jobs: async predictions (queued by `predict:async`) and batch scoring jobs (queued here). A caller whose key
 * has only the predict scope sees the jobs it queued; `jobs` scope and dashboard users see all of them.
 */
@ApiTags('jobs')
@Controller('v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  /**
   * A batch scoring job. Multipart: a `spec` field (JSON, ZBatchJobSpec without inputUri) first, then the `file`
   * part (CSV with a header, or JSON Lines), streamed into storage as it arrives. Or JSON: the spec with
   * `inputUri` naming a file already in storage. Answers 202 with the queued job.
   */
  @RequirePermission('jobs.write')
  @Post()
  @HttpCode(202)
  @ApiConsumes('multipart/form-data', 'application/json')
  @ApiZodBody(ZBatchJobSpec)
  @ApiZodResponse(202, ZJob)
  async create(@Actor() actor: Principal, @Req() req: FastifyRequest) {
    if (!req.isMultipart()) return this.jobs.submitBatch(actor, req.body ?? {}, null);
    return specThenFile(req, (spec, file) => this.jobs.submitBatch(actor, spec, file), {
      specRequired: true,
      missingFile: 'No `file` part in the upload (or send JSON with inputUri)',
      fileSize: Number.MAX_SAFE_INTEGER,
    });
  }

  @RequirePermission('jobs.read')
  @Get()
  @ApiZodResponse(200, ZJobPage)
  list(@Actor() actor: Principal, @Query(zod(ZJobQuery)) q: z.output<typeof ZJobQuery>) {
    return this.jobs.list(actor, q);
  }

  @RequirePermission('jobs.read')
  @Get(':id')
  @ApiZodResponse(
    200,
    ZJob,
    "The job: status, progress, counts, timings, output URIs; an async prediction's result once it succeeded",
  )
  get(@Actor() actor: Principal, @Param('id', zod(ZJobId)) id: string) {
    return this.jobs.get(actor, id);
  }

  @RequirePermission('jobs.write')
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiZodResponse(200, ZJob)
  cancel(@Actor() actor: Principal, @Param('id', zod(ZJobId)) id: string) {
    return this.jobs.cancel(actor, id);
  }

  @RequirePermission('jobs.write')
  @Post(':id/retry')
  @HttpCode(200)
  @ApiZodResponse(200, ZJob)
  retry(@Actor() actor: Principal, @Param('id', zod(ZJobId)) id: string) {
    return this.jobs.retry(actor, id);
  }

  /**
   * Deletes a finished job with the files the platform stored for it (its upload, output, errors), which frees
   * them in the project's maxStoredBytes. 409 while it is queued or running: cancel it first.
   */
  @RequirePermission('jobs.write')
  @Delete(':id')
  @HttpCode(204)
  async remove(@Actor() actor: Principal, @Param('id', zod(ZJobId)) id: string) {
    await this.jobs.delete(actor, id);
  }

  /** Downloads the job's input, output or errors file. */
  @RequirePermission('jobs.read')
  @Get(':id/files/:kind')
  async file(
    @Actor() actor: Principal,
    @Param('id', zod(ZJobId)) id: string,
    @Param('kind', zod(ZFileKind)) kind: z.infer<typeof ZFileKind>,
    @Res() reply: FastifyReply,
  ) {
    const f = await this.jobs.file(actor, id, kind);
    void reply
      .header('content-type', f.contentType)
      .header('content-disposition', `attachment; filename="${f.filename}"`);
    if (f.sizeBytes !== null) void reply.header('content-length', String(f.sizeBytes));
    return reply.send(f.stream);
  }
}
