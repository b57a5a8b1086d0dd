import { Controller, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZModelName } from '@modelyard/contracts';
import type { ApiConfig } from '@modelyard/config';
import { mlflowBodyKind, parseMlflow, PredictionService, renderMlflow, ServingMetrics, type Principal } from '@modelyard/server';
import { routingKeyOf, tagPrediction } from './prediction-metrics.js';
import { ProtocolErrors } from './protocol-errors.js';
import { Actor, RequirePermission } from '../common/decorators.js';
import { zod } from '../common/zod.pipe.js';
import { API_CONFIG } from '../tokens.js';

const INVOCATIONS_DOC = {
  schema: {
    type: 'object',
    properties: { dataframe_split: { type: 'object' }, dataframe_records: { type: 'array' }, instances: { type: 'array' }, inputs: {}, params: { type: 'object' } },
    example: { dataframe_split: { columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'], data: [[5.1, 3.5, 1.4, 0.2]] } },
  },
};

/**
 * MLflow scoring (`mlflow models serve`'s `/invocations`, PROTOCOLS.md section 2) on a model's Production
 * version: JSON (`dataframe_split`, `dataframe_records`, `instances`, `inputs`) or `text/csv`; anything else 415.
 * Errors: `{"error_code": "...", "message": "..."}`.
 */
@ApiTags('mlflow')
@ProtocolErrors('mlflow')
@Controller('v1/models/:name')
export class MlflowController {
  constructor(
    private readonly predictions: PredictionService,
    private readonly metrics: ServingMetrics,
    @Inject(API_CONFIG) private readonly cfg: ApiConfig,
  ) {}

  @RequirePermission('predict')
  @Post('invocations')
  @HttpCode(200)
  @ApiConsumes('application/json', 'text/csv')
  @ApiBody(INVOCATIONS_DOC)
  async invocations(@Actor() actor: Principal, @Param('name', zod(ZModelName)) name: string, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const labels = tagPrediction(req, this.metrics, { model: name, version: '', format: 'mlflow', role: '' });
    const kind = mlflowBodyKind(req.headers['content-type']);
    const { served, role } = await this.predictions.select(actor, name, { ...{}, routingKey: routingKeyOf(req) }, this.cfg.serving.rateLimit);
    labels.version = String(served.version);
    labels.role = role;
    const feeds = parseMlflow(req.body, kind, served, this.cfg.serving);
    // Every output is fetched (not just the labels): an outputs filter would take the request out of micro-batching.
    const outputs = await this.predictions.run(served, feeds, { timeoutMs: this.cfg.serving.timeoutMs, logSampleRate: this.cfg.serving.predictionLogSampleRate, silentCap: this.cfg.serving.silentMaxConcurrency, role });
    void reply.header('x-model-version', String(served.version)).header('x-deployment-role', role);
    return renderMlflow(served, outputs);
  }
}
