import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { JobPayloadParsed } from '@modelyard/contracts';
import type { CommonConfig } from '@modelyard/config';
import { AppError } from '../platform/errors.js';
import { COMMON_CONFIG, LOGGER, SECRET_KEY } from '../platform/tokens.js';
import { JobProducer } from '../queue/job-producer.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { protocolOf } from '../serving/formats/protocols.js';
import { ServingService } from '../serving/serving.service.js';
import { InputError, runVersion } from '../engine/index.js';
import { OutboundHttp } from '../outbound/outbound-http.js';
import { SecretBox } from '../webhooks/secret-box.js';
import { legacySignature, standardWebhookHeaders } from '../webhooks/standard-webhooks.js';
import { JobsRepository } from './jobs.repository.js';
import { publicReason } from '../platform/public-reason.js';
import { annotateSpan } from '../platform/tracing.js';

const CALLBACK_TIMEOUT_MS = 10_000;

/** The worker's side of `predict:async`: run the stored request through its format's adapter and keep the answer. */
@Injectable()
export class AsyncPredictionService implements JobHandler<'predict.async'> {
  readonly job = 'predict.async' as const;

  constructor(
    private readonly repo: JobsRepository,
    private readonly serving: ServingService,
    private readonly producer: JobProducer,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle({ jobId }: JobPayloadParsed<'predict.async'>, ctx: JobContext) {
    const job = await this.repo.find(jobId);
    if (
      !job ||
      !(await this.repo.transition(jobId, ['queued', 'running'], {
        status: 'running',
        startedAt: new Date(),
        attempts: { increment: 1 },
      }))
    ) {
      return { skipped: job?.status ?? 'missing' };
    }
    annotateSpan({
      'modelyard.model': job.modelName,
      'modelyard.model_version': job.version!,
      'modelyard.job_id': jobId,
    });
    try {
      const served = await this.serving.resolve(job.modelName, { version: job.version! });
      const req = job.request as { body: unknown; csv: boolean };
      // No row limit here: the API applied its limits when it accepted the request.
      const parsed = protocolOf(job.format!).prepare(
        served,
        { body: req.body, contentType: req.csv ? 'text/csv' : 'application/json', requestId: jobId },
        { maxRows: Number.MAX_SAFE_INTEGER },
      );
      const outputs = await runVersion(served, parsed.feeds, parsed.outputs);
      const result = parsed.render(outputs);
      const ok = await this.repo.transition(jobId, ['running'], {
        status: 'succeeded',
        result: JSON.parse(JSON.stringify(result)),
        progress: 100,
        finishedAt: new Date(),
        error: null,
        expiresAt: new Date(Date.now() + this.cfg.jobs.resultTtlHours * 3600_000),
      });
      if (ok && job.callbackUrl)
        await this.producer.enqueue(
          'predict.callback',
          { jobId },
          {
            jobId: `callback-${jobId}-${Date.now().toString(36)}`,
            attempts: 8,
            backoff: { type: 'exponential', delay: 2000 },
          },
        );
      return { version: served.version };
    } catch (e) {
      const final =
        e instanceof InputError || (e instanceof AppError && e.status < 500) || ctx.attempt >= ctx.maxAttempts;
      const message = publicReason(e, 'The prediction failed');
      if (final) {
        await this.repo.transition(jobId, ['running'], {
          status: 'failed',
          error: message.slice(0, 2000),
          finishedAt: new Date(),
        });
        if (job.callbackUrl)
          await this.producer.enqueue(
            'predict.callback',
            { jobId },
            {
              jobId: `callback-${jobId}-${Date.now().toString(36)}`,
              attempts: 8,
              backoff: { type: 'exponential', delay: 2000 },
            },
          );
      } else {
        await this.repo.transition(jobId, ['running'], { status: 'queued' });
      }
      this.log.warn({ jobId, final, err: message }, 'async prediction failed');
      throw e;
    }
  }
}

/**
 * Pushes a finished async prediction to the caller's callback URL, signed like our webhooks (Standard Webhooks
 * headers, and the deprecated `X-Modelyard-Signature` for one more release) with the secret the caller gave.
 * A non-2xx answer throws, so BullMQ retries with backoff.
 */
@Injectable()
export class PredictionCallbackService implements JobHandler<'predict.callback'> {
  readonly job = 'predict.callback' as const;
  private readonly box: SecretBox;

  constructor(
    private readonly repo: JobsRepository,
    @Inject(SECRET_KEY) secretKey: string,
    private readonly outbound: OutboundHttp,
  ) {
    this.box = new SecretBox(secretKey);
  }

  async handle({ jobId }: JobPayloadParsed<'predict.callback'>, ctx: JobContext) {
    const job = await this.repo.find(jobId);
    if (
      !job?.callbackUrl ||
      !job.callbackSecret ||
      job.callbackStatus === 'delivered' ||
      job.callbackStatus?.startsWith('refused')
    ) {
      return { skipped: true };
    }
    annotateSpan({
      'modelyard.model': job.modelName,
      'modelyard.job_id': job.id,
      ...(job.version !== null && { 'modelyard.model_version': job.version }),
    });
    const body = JSON.stringify({
      jobId: job.id,
      status: job.status,
      model: job.modelName,
      version: job.version,
      ...(job.status === 'succeeded' ? { result: job.result } : { error: job.error }),
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const secret = this.box.open(job.callbackSecret);
    const r = await this.outbound.post(job.callbackUrl, {
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Modelyard-Callbacks/1',
        // One message per job: its id is the Standard Webhooks message id, the same on every retry.
        ...standardWebhookHeaders(secret, job.id, timestamp, body),
        'x-modelyard-event': 'prediction.completed',
        'x-modelyard-job': job.id,
        'x-modelyard-timestamp': timestamp,
        'x-modelyard-signature': legacySignature(secret, timestamp, body),
      },
      body,
      timeoutMs: CALLBACK_TIMEOUT_MS,
    });
    if (r.outcome === 'answered' && r.status >= 200 && r.status < 300) {
      await this.repo.update(jobId, { callbackStatus: 'delivered' });
      return { delivered: true };
    }
    if (r.outcome === 'refused') {
      // The target is not allowed: final, and the status says so without saying what is there.
      await this.repo.update(jobId, { callbackStatus: `refused: ${r.reason}` });
      return { delivered: false, refused: true };
    }
    const error = r.outcome === 'answered' ? `receiver answered HTTP ${r.status}` : r.reason;
    await this.repo.update(jobId, {
      callbackStatus: ctx.attempt >= ctx.maxAttempts ? `failed: ${error}` : `retrying: ${error}`,
    });
    throw new Error(`callback for job ${jobId} failed: ${error}`);
  }
}
