import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Inject, Injectable } from '@nestjs/common';
import {
  ZBatchJobSpec,
  ZJobQuery,
  ZSignature,
  type TBatchFormat,
  type TJob,
  type TSignature,
} from '@modelyard/contracts';
import type { ProtocolName } from '../serving/formats/protocols.js';
import type { CommonConfig } from '@modelyard/config';
import type { z } from 'zod';
import { DomainEvents } from '../events/domain-events.js';
import { asJson } from '../db/json.js';
import { authorize, authorizeModel, type Principal } from '../auth/principal.js';
import { checkStorageReference } from '../tenancy/storage-scope.js';
import { inProject, keyFor, modelNameOf } from '../tenancy/model-key.js';
import { decodeCursor, pageFrom } from '../platform/cursor.js';
import { validate } from '../platform/validate.js';
import { AppError, conflict, notFound } from '../platform/errors.js';
import { COMMON_CONFIG, LOGGER, SECRET_KEY } from '../platform/tokens.js';
import { JobProducer } from '../queue/job-producer.js';
import { ProjectQuotas } from '../projects/quotas.service.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { ServingService } from '../serving/serving.service.js';
import type { ServedVersion } from '../engine/index.js';
import { StorageService } from '../storage/storage.service.js';
import { SecretBox } from '../webhooks/secret-box.js';
import { explainedIO } from '../explain/explain.service.js';
import { JobsRepository, type JobRow } from './jobs.repository.js';
import { batchOptions, FORMAT_EXT, jobFileUris, jobFolder, type BatchOptions } from './batch-options.js';
import type { TraceParent } from '../platform/tracing.js';

export interface AsyncRequest {
  format: ProtocolName;
  body: unknown;
  csv: boolean;
  callback?: { url: string; secret: string };
  /** The request's trace (when tracing is on), which the worker's spans continue. */
  trace?: TraceParent;
}

/**
 * What the API does with jobs: accept them (the version is fixed now, so a promotion meanwhile does not change
 * what a queued job runs), report them, cancel and retry them, hand out their files. The worker does the work.
 */
@Injectable()
export class JobsService {
  private readonly box: SecretBox;

  constructor(
    private readonly repo: JobsRepository,
    private readonly registry: RegistryRepository,
    private readonly serving: ServingService,
    private readonly storage: StorageService,
    private readonly producer: JobProducer,
    private readonly events: DomainEvents,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig,
    @Inject(SECRET_KEY) secretKey: string,
    private readonly quotas: ProjectQuotas,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.box = new SecretBox(secretKey);
  }

  /** An async prediction whose body its format's adapter has already accepted (so bad input was a 400, not a failed job). */
  async submitAsync(actor: Principal, served: ServedVersion, req: AsyncRequest): Promise<TJob> {
    authorize(actor, 'predict');
    const m = await this.registry.findModel(served.model);
    if (!m) throw notFound(`Model ${served.model}`);
    const id = randomUUID();
    // The quota is counted and the row inserted in one transaction, on the project's locked row.
    const row = await this.events.transaction(async () => {
      await this.quotas.admitJob(m.projectId);
      return this.repo.create({
        id,
        type: 'predict_async',
        modelId: m.id,
        modelName: m.name,
        version: served.version,
        format: req.format,
        request: asJson({ body: req.body, csv: req.csv }),
        expiresAt: this.expiry(),
        callbackUrl: req.callback?.url ?? null,
        callbackSecret: req.callback ? this.box.seal(req.callback.secret) : null,
        ...creator(actor),
      });
    });
    await this.producer.enqueueBacked('predict.async', { jobId: id }, { jobId: `async-${id}`, attempts: 3 }, req.trace);
    return toJob(row);
  }

  async submitBatch(
    actor: Principal,
    input: unknown,
    upload: { stream: Readable; filename?: string } | null,
  ): Promise<TJob> {
    authorize(actor, 'jobs.write');
    const drain = () => upload?.stream.resume();
    let uploaded: string | null = null;
    try {
      const spec = validate(ZBatchJobSpec, input);
      authorizeModel(actor, spec.model);
      spec.model = keyFor(actor, spec.model);
      if (!upload && !spec.inputUri)
        throw new AppError('VALIDATION_FAILED', 'Send the input file, or name one already in storage with inputUri');
      if (upload && spec.inputUri) throw new AppError('VALIDATION_FAILED', 'Send the input file or inputUri, not both');
      const m = await this.registry.findModel(spec.model);
      if (!m) throw notFound(`Model ${spec.model}`);
      const version = await this.readyVersion(spec.model, { version: spec.version, alias: spec.alias });
      if (spec.output.contributions) await this.checkExplainable(spec.model, version);
      // Before the input is uploaded, so a refused job stores nothing; admitted again with the row below.
      await this.quotas.checkJobRoom(m.projectId);
      const room = upload ? await this.quotas.roomForJobInput(m.projectId) : null;
      const format = spec.format ?? formatOf(upload?.filename ?? spec.inputUri ?? '');
      const out = spec.output.format ?? format;
      if ((format === 'jsonl') !== (out === 'jsonl'))
        throw new AppError(
          'VALIDATION_FAILED',
          `A ${format} input cannot give a ${out} output: JSON Lines in gives JSON Lines out; csv, parquet and ` +
            'arrow inputs give any of those three',
        );
      const id = randomUUID();
      let inputUri: string;
      let inputBytes = 0;
      let placement: { backend: ReturnType<StorageService['defaultBackend']>; base: string };
      if (upload) {
        placement = { backend: this.storage.defaultBackend(), base: jobFolder(spec.model, id) };
        const limit = this.cfg.jobs.maxInputBytes;
        const byQuota = room !== null && room.bytesLeft < limit;
        // Past the quota's room the write stops and stores nothing (meteredWrite), like past MAX_BATCH_INPUT_BYTES.
        const stored = await this.storage
          .put(placement.backend, `${placement.base}input.${format}`, upload.stream, {
            maxBytes: byQuota ? room.bytesLeft : limit,
            contentType: contentTypeOf(format),
          })
          .catch((e: unknown) => {
            throw byQuota && e instanceof AppError && e.code === 'PAYLOAD_TOO_LARGE' ? room.refusal() : e;
          });
        inputUri = stored.uri;
        inputBytes = stored.sizeBytes;
        uploaded = stored.uri;
      } else {
        inputUri = spec.inputUri!;
        checkStorageReference(actor, this.storage.locate(inputUri), 'inputUri', this.storage.importPrefixes());
        if (!(await this.storage.stat(inputUri))) throw new AppError('NOT_FOUND', `No input file at ${inputUri}`);
        const key = this.storage.keyOf(inputUri);
        placement = {
          backend: this.storage.backendOf(inputUri),
          base: `${key.replace(/\.[^./]*$/, '')}.${id.slice(0, 8)}.`,
        };
      }
      if (spec.outputPrefix) {
        const probe = `${spec.outputPrefix.replace(/\/?$/, '/')}x`;
        checkStorageReference(actor, this.storage.locate(probe), 'outputPrefix', this.storage.importPrefixes());
        placement = {
          backend: this.storage.backendOf(probe),
          base: this.storage.keyOf(probe).slice(0, -1) + `${id.slice(0, 8)}.`,
        };
      }
      const options: BatchOptions = batchOptions(
        spec,
        format,
        placement.backend,
        placement.base,
        jobFolder(spec.model, id),
      );
      // The event queues the scoring (follow-up-jobs.ts), so a job row never waits for a queue entry that was lost.
      const row = await this.events.change(
        actor,
        async () => {
          await this.quotas.admitJob(m.projectId, inputBytes);
          return this.repo.create({
            id,
            type: 'batch_score',
            modelId: m.id,
            modelName: m.name,
            version,
            selector: { version: spec.version, alias: spec.alias },
            format,
            options: asJson(options),
            inputUri,
            ownedInput: !!upload,
            storedBytes: inputBytes,
            ...creator(actor),
          });
        },
        () => ({ type: 'job.created', objectId: id, data: { type: 'batch_score', model: m.name, version, inputUri } }),
      );
      uploaded = null; // the row owns the input now
      return toJob(row);
    } catch (e) {
      drain();
      throw e;
    } finally {
      // A job refused after its upload (a quota checked again with the size, a failed insert) keeps nothing.
      if (uploaded)
        await this.storage
          .delete(uploaded)
          .catch((err: unknown) => this.log.error({ err, uri: uploaded }, 'could not remove a refused upload'));
    }
  }

  async list(actor: Principal, q: z.output<typeof ZJobQuery>) {
    authorize(actor, 'jobs.read');
    const rows = await this.repo.list({
      type: q.type,
      status: q.status,
      modelName: q.model && keyFor(actor, q.model),
      projectId: actor.project?.id,
      limit: q.limit,
      before: decodeCursor(q.cursor),
      createdById: this.seesAll(actor) ? undefined : actor.id,
    });
    const page = pageFrom(rows, q.limit, (r) => ({ at: r.submittedAt, id: r.id }));
    return { items: page.items.map((r) => toJob(r as JobRow)), nextCursor: page.nextCursor };
  }

  async get(actor: Principal, id: string): Promise<TJob> {
    return toJob(await this.visible(actor, id), true);
  }

  async cancel(actor: Principal, id: string): Promise<TJob> {
    authorize(actor, 'jobs.write');
    const job = await this.visible(actor, id);
    const cancelled = await this.events.change(
      actor,
      () => this.repo.transition(id, ['queued', 'running'], { status: 'cancelled', finishedAt: new Date() }),
      (done) => (done ? { type: 'job.cancelled', objectId: id, data: { model: job.modelName } } : []),
    );
    if (!cancelled)
      throw conflict(
        `Job ${id} is ${(await this.repo.status(id)) ?? 'gone'}; only queued or running jobs can be cancelled`,
      );
    return this.get(actor, id);
  }

  /** Runs a failed or cancelled job again; a batch job keeps the chunks it already wrote and goes on from there. */
  async retry(actor: Principal, id: string): Promise<TJob> {
    authorize(actor, 'jobs.write');
    const job = await this.visible(actor, id);
    // The event queues the run again (follow-up-jobs.ts); `run` makes its queue entry a new one.
    const retried = await this.events.change(
      actor,
      async () => {
        // A retried job is queued again: it counts against the concurrent-jobs quota like a new one.
        const m = await this.registry.findModel(job.modelName);
        if (m && (job.status === 'failed' || job.status === 'cancelled')) await this.quotas.admitJob(m.projectId);
        return this.repo.transition(id, ['failed', 'cancelled'], { status: 'queued', error: null, finishedAt: null });
      },
      (done) =>
        done
          ? {
              type: 'job.retried',
              objectId: id,
              data: { model: job.modelName, type: job.type, run: Date.now().toString(36) },
            }
          : [],
    );
    if (!retried) throw conflict(`Job ${id} is ${job.status}; only failed or cancelled jobs can be retried`);
    return this.get(actor, id);
  }

  /**
   * Deletes a finished job and the files the platform wrote for it: its uploaded input (never a file the caller
   * named by inputUri), its output and errors files and any part files an unfinished attempt left. Its bytes leave
   * the project's maxStoredBytes with the row. A queued or running job is cancelled first (409).
   */
  async delete(actor: Principal, id: string): Promise<void> {
    authorize(actor, 'jobs.write');
    const job = await this.visible(actor, id);
    const chunks = await this.repo.chunks(id);
    const deleted = await this.events.change(
      actor,
      () => this.repo.deleteFinished(id),
      (done) => (done ? { type: 'job.deleted', objectId: id, data: { model: job.modelName } } : []),
    );
    if (!deleted)
      throw conflict(
        `Job ${id} is ${(await this.repo.status(id)) ?? 'gone'}; cancel it first: only finished jobs can be deleted`,
      );
    // The row is gone, so nobody can reach these any more; a file that cannot be removed now is only logged.
    for (const { uri, err } of await this.storage.deleteAll(jobFileUris(job, chunks)))
      this.log.error({ err, uri, jobId: id }, 'could not remove a job file');
  }

  /** A job's input, output or errors file, streamed from storage. */
  async file(
    actor: Principal,
    id: string,
    which: 'input' | 'output' | 'errors',
  ): Promise<{ stream: Readable; filename: string; contentType: string; sizeBytes: number | null }> {
    const job = await this.visible(actor, id);
    const uri = which === 'input' ? job.inputUri : which === 'output' ? job.outputUri : job.errorsUri;
    if (!uri) throw new AppError('NOT_FOUND', `Job ${id} has no ${which} file${which === 'input' ? '' : ' (yet)'}`);
    const size = (await this.storage.stat(uri))?.sizeBytes ?? null;
    const opts = job.options as Partial<BatchOptions> | null;
    const ext =
      FORMAT_EXT[
        which === 'input'
          ? ((job.format as TBatchFormat | null) ?? 'csv')
          : which === 'output'
            ? (opts?.outputFormat ?? (job.format as TBatchFormat | null) ?? 'csv')
            : uri.endsWith('.jsonl')
              ? 'jsonl'
              : 'csv'
      ];
    return {
      stream: await this.storage.get(uri),
      filename: `${modelNameOf(job.modelName)}-${id.slice(0, 8)}-${which}.${ext}`,
      contentType: contentTypeOf(ext),
      sizeBytes: size,
    };
  }

  /**
   * Contribution columns need a reference dataset and a model the explainer can read: refused at submission (409,
   * or the explainer's own 400), not as a job failing once the worker gets to it.
   */
  private async checkExplainable(model: string, version: number) {
    const v = await this.registry.findVersion(model, version);
    if (!v?.referenceUri)
      throw conflict(
        `Version ${version} of ${model} was registered without a reference dataset: contribution columns are ` +
          'computed against its rows. Register a version with one, or leave output.contributions out.',
      );
    const signature = ZSignature.parse(v.signature) as TSignature;
    explainedIO({
      model,
      version,
      signature,
      // What the version pool serves: the signature's outputs (registration already left out those onnxruntime
      // cannot return).
      outputNames: signature.outputs.map((o) => o.name),
      probabilityOutput: signature.probabilityOutput ?? null,
    });
  }

  private async readyVersion(model: string, sel: { version?: number; alias?: string }): Promise<number> {
    const n = await this.serving.versionNumber(model, sel, { fresh: true });
    const v = await this.registry.findVersion(model, n);
    if (!v) throw notFound(`Version ${n} of ${model}`);
    if (v.status === 'pending') throw new AppError('NOT_READY', `Version ${n} of ${model} is still being validated`);
    if (v.status === 'failed') throw conflict(`Version ${n} of ${model} failed validation and cannot score`);
    return n;
  }

  private seesAll(actor: Principal) {
    return actor.scopes === null || actor.scopes.includes('jobs');
  }

  /** The job if this caller may see it; 404 otherwise (a predict key does not learn other callers' job ids exist). */
  private async visible(actor: Principal, id: string): Promise<JobRow> {
    authorize(actor, 'jobs.read');
    const job = /^[0-9a-f-]{36}$/i.test(id) ? await this.repo.find(id) : null;
    if (!job || !inProject(actor, job.modelName) || (!this.seesAll(actor) && job.createdById !== actor.id))
      throw notFound(`Job ${id}`);
    authorizeModel(actor, job.modelName);
    return job;
  }

  private expiry() {
    return new Date(Date.now() + this.cfg.jobs.resultTtlHours * 3600_000);
  }
}

const creator = (p: Principal) => ({
  createdByKind: p.kind,
  createdById: p.kind === 'system' ? null : p.id,
  createdByName: p.name,
  createdByKeyId: p.apiKeyId,
});

export function formatOf(name: string): TBatchFormat {
  const lower = name.toLowerCase().replace(/[?#].*$/, '');
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet';
  if (['.arrow', '.arrows', '.feather', '.ipc'].some((e) => lower.endsWith(e))) return 'arrow';
  throw new AppError(
    'VALIDATION_FAILED',
    `Cannot tell the input format from "${name.slice(-60)}": name a .csv, .jsonl, .parquet or .arrow file, ` +
      'or set format',
  );
}

const CONTENT_TYPES: Record<string, string> = {
  jsonl: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
  arrow: 'application/vnd.apache.arrow.file',
};
const contentTypeOf = (format: string) => CONTENT_TYPES[format] ?? 'text/csv';

export function toJob(r: JobRow, full = false): TJob {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    model: modelNameOf(r.modelName),
    version: r.version,
    progress: Math.round(r.progress * 10) / 10,
    rowsIn: r.rowsIn,
    rowsOut: r.rowsOut,
    rowsFailed: r.rowsFailed,
    inputUri: r.type === 'batch_score' ? r.inputUri : null,
    outputUri: r.outputUri,
    errorsUri: r.errorsUri,
    storedBytes: Number(r.storedBytes),
    error: r.error,
    format: r.format,
    attempts: r.attempts,
    scheduleId: r.scheduleId,
    createdBy: r.createdByName,
    submittedAt: r.submittedAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    expiresAt: r.expiresAt?.toISOString() ?? null,
    callbackUrl: r.callbackUrl,
    callbackStatus: r.callbackStatus,
    workers: r.workers,
    ...(full && r.type === 'predict_async' && r.status === 'succeeded' && { result: r.result }),
  };
}
