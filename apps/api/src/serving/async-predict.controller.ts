import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ZAliasName, ZAsyncAccepted, ZModelName, ZStoredPrediction } from '@modelyard/contracts';
import type { ApiConfig } from '@modelyard/config';
import {
  AppError,
  authorize,
  authorizeModel,
  can,
  classifierView,
  feedsFromTable,
  JobsService,
  OutboundHttp,
  PredictionService,
  PredictionStore,
  ACCEPTED_PROTOCOL_NAMES,
  protocolOf,
  type Principal,
  urlShapeProblem,
} from '@modelyard/server';
import { routingKeyOf } from './prediction-metrics.js';
import { traceOf } from '../common/tracing.js';
import { Actor, ApiZodResponse, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { API_CONFIG } from '../tokens.js';

const ZAsyncQuery = z
  .object({
    format: z
      .enum(ACCEPTED_PROTOCOL_NAMES)
      .default('modelyard')
      .describe('The request format of the body: modelyard, oip-v2, tfs or mlflow (v2 and v1 are the old names)')
      .transform((n) => protocolOf(n)),
    version: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
    alias: ZAliasName.optional(),
  })
  .refine((q) => !(q.version !== undefined && q.alias !== undefined), 'name a version or an alias, not both');
const ZCallback = z.object({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  secret: z.string().min(16, 'X-Callback-Secret must be at least 16 characters').max(256),
});
const ZEntityId = z.string().min(1).max(256);

/**
 * Predictions the caller does not wait for, and predictions a batch job has already made.
 * - `POST /v1/models/{name}/predict:async?format=modelyard|oip-v2|tfs|mlflow[&version|&alias]`: the body in that
 *   format is checked now (400 at once for bad input) and run by the worker; 202 with the job's status URL.
 *   `X-Callback-Url` + `X-Callback-Secret` (>= 16 chars) make the worker POST the result there, signed.
 * - `GET /v1/models/{name}/predictions/{entityId}`: from the prediction store; when the entity is not there and
 *   features are given as query parameters, a live prediction on the production version.
 */
@ApiTags('predict')
@Controller('v1/models/:name')
export class AsyncPredictController {
  constructor(
    private readonly predictions: PredictionService,
    private readonly jobs: JobsService,
    private readonly store: PredictionStore,
    @Inject(API_CONFIG) private readonly cfg: ApiConfig,
    private readonly outbound: OutboundHttp,
  ) {}

  @RequirePermission('predict')
  @Post('predict::async')
  @HttpCode(202)
  @ApiConsumes('application/json', 'text/csv')
  @ApiZodResponse(202, ZAsyncAccepted)
  async predictAsync(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Query(zod(ZAsyncQuery)) q: z.output<typeof ZAsyncQuery>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const contentType = req.headers['content-type'];
    const kind = q.format.bodyKind(contentType, req.headers);
    // The body was read by Fastify, which has parsers for JSON and CSV only.
    if (kind === 'bytes') throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Asynchronous predictions take JSON or CSV');
    const csv = kind === 'text';
    const callback = this.callbackOf(actor, req);
    const { served } = await this.predictions.select(
      actor,
      name,
      { version: q.version, alias: q.alias, routingKey: routingKeyOf(req) },
      this.cfg.serving.rateLimit,
    );
    // Checked now, so that bad input is a 400 here and not a failed job later.
    q.format.prepare(served, { body: req.body, contentType, requestId: String(req.id) }, this.cfg.serving);
    const job = await this.jobs.submitAsync(actor, served, {
      format: q.format.name,
      body: req.body,
      csv,
      callback,
      trace: traceOf(req),
    });
    const statusUrl = `/v1/jobs/${job.id}`;
    void reply.header('location', statusUrl).header('x-model-version', String(served.version));
    return { jobId: job.id, status: job.status, statusUrl };
  }

  @RequirePermission('predict')
  @Get('predictions/:entityId')
  @ApiZodResponse(200, ZStoredPrediction)
  async stored(
    @Actor() actor: Principal,
    @Param('name', zod(ZModelName)) name: string,
    @Param('entityId', zod(ZEntityId)) entityId: string,
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    authorize(actor, 'predict');
    authorizeModel(actor, name);
    const started = process.hrtime.bigint();
    const hit = await this.store.get(name, entityId);
    // The store lookup's own time, for clients and the benchmark (Server-Timing is what browsers show too).
    void reply.header('server-timing', `store;dur=${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(3)}`);
    if (hit) return { model: name, entityId, source: 'store' as const, ...hit };
    const features = Object.entries(query ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string');
    if (!features.length)
      throw new AppError(
        'NOT_FOUND',
        `No stored prediction for ${entityId} in model ${name}; pass its features as query parameters for a live prediction`,
      );
    const { served } = await this.predictions.select(actor, name, { routingKey: entityId }, this.cfg.serving.rateLimit);
    const feeds = feedsFromTable(
      served.signature,
      features.map((f) => f[0]),
      [features.map((f) => f[1])],
      true,
      this.cfg.serving,
    );
    const outputs = await this.predictions.run(served, feeds, { timeoutMs: this.cfg.serving.timeoutMs });
    const view = classifierView(served, outputs);
    const probs = 'predictions_prob' in view ? (view.predictions_prob as number[][] | undefined)?.[0] : undefined;
    const classes = 'classes' in view ? (view.classes as unknown[] | undefined) : undefined;
    return {
      model: name,
      entityId,
      source: 'live' as const,
      version: served.version,
      prediction: (view.predictions as unknown[])[0],
      ...(probs && classes && { probabilities: Object.fromEntries(classes.map((c, k) => [String(c), probs[k]!])) }),
      jobId: null,
      storedAt: null,
    };
  }

  private callbackOf(actor: Principal, req: FastifyRequest) {
    const url = req.headers['x-callback-url'];
    const secret = req.headers['x-callback-secret'];
    if (url === undefined && secret === undefined) return undefined;
    if (!can(actor, 'predict.callback')) {
      throw new AppError(
        'FORBIDDEN',
        actor.scopes === null
          ? 'X-Callback-Url needs the scientist role or above'
          : 'X-Callback-Url needs an API key with the predict:callback scope',
      );
    }
    const r = ZCallback.safeParse({ url, secret });
    if (!r.success)
      throw new AppError(
        'VALIDATION_FAILED',
        `Callback: ${r.error.issues.map((i) => `${i.path.join('.') || 'header'}: ${i.message}`).join('; ')} (send X-Callback-Url and X-Callback-Secret together)`,
      );
    const problem = urlShapeProblem(r.data.url) ?? this.outbound.literalRefusal(r.data.url);
    if (problem) throw new AppError('VALIDATION_FAILED', `X-Callback-Url ${problem}`);
    return r.data;
  }
}
