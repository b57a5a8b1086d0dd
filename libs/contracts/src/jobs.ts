import { z } from 'zod';
import { ZModelName } from './registry.js';

/**
 * Every background job, declared once: its queue and its payload schema. The worker refuses to start if a
 * name here has no handler or two, and producers can only enqueue a name from this map with its payload type.
 * Payloads carry ids, never secrets or personal data.
 */
export const JOBS = {
  /** Load a new version in onnxruntime, read its signature, run its samples: pending -> ready | failed. */
  'registry.validate': {
    queue: 'registry',
    payload: z.object({ versionId: z.uuid() }),
  },
  'webhook.deliver': {
    queue: 'webhooks',
    payload: z.object({ deliveryId: z.uuid() }),
  },
  /** Drain the sampled prediction log from Redis into Postgres (scheduled every few seconds). */
  'predictions.ingest': {
    queue: 'ingest',
    payload: z.object({}),
  },
  /** Evaluate pilots' auto-rollback rules against the rollups (scheduled). */
  'deployments.check': {
    queue: 'maintenance',
    payload: z.object({}),
  },
  /** Run one queued async prediction (the request body is in its Job row) and keep or push the result. */
  'predict.async': {
    queue: 'predict',
    payload: z.object({ jobId: z.uuid() }),
  },
  /** POST a finished async prediction to its callback URL, HMAC-signed; retried with backoff. */
  'predict.callback': {
    queue: 'webhooks',
    payload: z.object({ jobId: z.uuid() }),
  },
  /**
   * Split a batch job's input into chunk files and queue one `batch.chunk` per chunk not scored yet (a retry
   * skips the chunks already written).
   */
  'batch.score': {
    queue: 'batch',
    payload: z.object({ jobId: z.uuid() }),
  },
  /** Score one chunk of a batch job (any worker): output and errors part files, then its JobChunk row. */
  'batch.chunk': {
    queue: 'batch',
    payload: z.object({
      jobId: z.uuid(),
      index: z.number().int().min(0),
      firstLine: z.number().int().min(1),
      inputUri: z.string(),
    }),
  },
  /** Every chunk is scored: join the parts, in order, into the output and errors files. */
  'batch.assemble': {
    queue: 'batch',
    payload: z.object({ jobId: z.uuid() }),
  },
  /** A schedule fired: score the files under its prefix that it has not scored yet. */
  'schedule.run': {
    queue: 'batch',
    payload: z.object({ scheduleId: z.uuid() }),
  },
  /** Build a version's reference profile from its reference dataset (queued when the version becomes ready). */
  'drift.profile': {
    queue: 'drift',
    payload: z.object({ versionId: z.uuid() }),
  },
  /** Fold new prediction-log rows into per-version windows and report the windows that changed (scheduled). */
  'drift.fold': {
    queue: 'drift',
    payload: z.object({}),
  },
  /** An ad hoc report: a dataset in storage against a version's reference profile. */
  'drift.report': {
    queue: 'drift',
    payload: z.object({ reportId: z.uuid() }),
  },
  /** Evaluate every model's alert rules; fire and resolve alerts (scheduled). */
  'alerts.evaluate': {
    queue: 'maintenance',
    payload: z.object({}),
  },
  /**
   * Compare Postgres (the source of truth for work) with the queues and put back what the queues lost: jobs,
   * validations of pending versions, schedules' schedulers (scheduled; also at worker start).
   */
  'jobs.reconcile': {
    queue: 'maintenance',
    payload: z.object({}),
  },
  /** Fail versions still `pending` past VALIDATION_STUCK_MINUTES (their validation died or never ran; scheduled). */
  'registry.sweep': {
    queue: 'maintenance',
    payload: z.object({}),
  },
  'maintenance.cleanup': {
    queue: 'maintenance',
    payload: z.object({ reason: z.enum(['schedule', 'manual']).default('schedule') }),
  },
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.input<(typeof JOBS)[N]['payload']>;
export type JobPayloadParsed<N extends JobName> = z.output<(typeof JOBS)[N]['payload']>;
export const QUEUES: readonly string[] = [...new Set(Object.values(JOBS).map((j) => j.queue))];

// ---- The jobs API: async predictions, batch scoring, schedules ----

export const JOB_TYPES = ['predict_async', 'batch_score'] as const;
export const ZJobType = z.enum(JOB_TYPES);
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const ZJobStatus = z.enum(JOB_STATUSES);
export type TJobStatus = z.infer<typeof ZJobStatus>;
/** Parquet and Arrow IPC (file or stream) are read and written column by column, without text (issue 23). */
export const ZBatchInputFormat = z.enum(['csv', 'jsonl', 'parquet', 'arrow']);
export type TBatchFormat = z.infer<typeof ZBatchInputFormat>;

/**
 * A batch scoring request. `inputUri` names a file already in storage (s3://, azure://, file://); with an upload
 * the file part is the input and `inputUri` is left out. Output `columns`: `all` = the input columns then the
 * predictions; `id` = `idColumn` then the predictions. `store` also writes each row's prediction keyed by
 * `store.entityColumn` into the prediction store. `output.format`: the output file's format (csv, parquet or arrow
 * for a csv, parquet or arrow input; jsonl for jsonl), by default the input's. `output.contributions` adds each
 * row's explanation as columns.
 */
export const ZBatchJobSpec = z
  .object({
    // A model name as in every URL: it is read in the caller's project, and a "/" would spell another project's key.
    model: ZModelName,
    version: z.number().int().min(1).optional(),
    alias: z.string().min(1).max(64).optional(),
    inputUri: z.string().min(1).max(2048).optional(),
    format: ZBatchInputFormat.optional(),
    output: z
      .object({
        columns: z.enum(['all', 'id']).default('all'),
        idColumn: z.string().min(1).max(128).optional(),
        format: ZBatchInputFormat.optional(),
        /**
         * Explanations (issue 18): also one column per feature with its contribution (`contribution_<feature>`,
         * `contribution_<feature>_<class>` for a classifier's classes) and the base value (`base_value[_<class>]`),
         * computed as `POST /explain` does against the version's reference dataset (which it then needs).
         */
        contributions: z.boolean().default(false),
      })
      .default({ columns: 'all', contributions: false }),
    store: z.object({ entityColumn: z.string().min(1).max(128) }).optional(),
    /** Where outputs go; default: beside the input (or under jobs/<id>/ for uploads). */
    outputPrefix: z.string().min(1).max(2048).optional(),
  })
  .refine((s) => !(s.version !== undefined && s.alias !== undefined), 'name a version or an alias, not both')
  .refine((s) => s.output.columns !== 'id' || s.output.idColumn, {
    message: 'output.idColumn is required when output.columns is "id"',
    path: ['output', 'idColumn'],
  });
export type TBatchJobSpec = z.input<typeof ZBatchJobSpec>;

export const ZJob = z.object({
  id: z.string(),
  type: ZJobType,
  status: ZJobStatus,
  model: z.string(),
  version: z.number().nullable(),
  /** 0..100 */
  progress: z.number(),
  rowsIn: z.number(),
  rowsOut: z.number(),
  rowsFailed: z.number(),
  inputUri: z.string().nullable(),
  outputUri: z.string().nullable(),
  errorsUri: z.string().nullable(),
  /** Bytes of this job's files the platform stores (its uploaded input, output, errors): the project's maxStoredBytes counts them until the job is deleted. */
  storedBytes: z.number(),
  error: z.string().nullable(),
  /** Async predictions: the answer in the request's format, once succeeded. */
  result: z.unknown().optional(),
  format: z.string().nullable(),
  attempts: z.number(),
  scheduleId: z.string().nullable(),
  createdBy: z.string().nullable(),
  submittedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  callbackUrl: z.string().nullable(),
  /** `delivered`, `retrying: <why>` or `failed: <why>`; null until a callback is attempted. */
  callbackStatus: z.string().nullable(),
  /** Batch: the workers (host:pid) that scored its chunks, once it succeeded. */
  workers: z.array(z.string()),
});
export type TJob = z.infer<typeof ZJob>;

export const ZJobPage = z.object({ items: z.array(ZJob), nextCursor: z.string().nullable() });
export const ZJobQuery = z.object({
  type: ZJobType.optional(),
  status: ZJobStatus.optional(),
  model: z.string().max(128).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type TJobQuery = z.input<typeof ZJobQuery>;

export const ZAsyncAccepted = z.object({ jobId: z.string(), status: ZJobStatus, statusUrl: z.string() });

/** Five-field cron (minute hour day month weekday), as BullMQ's repeatable jobs take it. */
export const ZCron = z
  .string()
  .trim()
  .regex(/^(\S+\s+){4}\S+$/, 'a five-field cron expression, e.g. "0 * * * *"');

export const ZScheduleSpec = z.object({
  name: z.string().trim().min(1).max(64),
  model: ZModelName,
  cron: ZCron,
  /** Every new .csv / .jsonl object under this storage prefix is scored once. */
  inputPrefix: z.string().min(1).max(2048),
  output: z
    .object({ columns: z.enum(['all', 'id']).default('all'), idColumn: z.string().min(1).max(128).optional() })
    .default({ columns: 'all' }),
  store: z.object({ entityColumn: z.string().min(1).max(128) }).optional(),
});
export type TScheduleSpec = z.input<typeof ZScheduleSpec>;

export const ZSchedule = z.object({
  id: z.string(),
  name: z.string(),
  model: z.string(),
  cron: z.string(),
  inputPrefix: z.string(),
  paused: z.boolean(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  lastRunAt: z.string().nullable(),
  nextRunAt: z.string().nullable(),
});
export type TSchedule = z.infer<typeof ZSchedule>;

/** A prediction answered from the prediction store (or live, when the entity was missing and features were given). */
export const ZStoredPrediction = z.object({
  model: z.string(),
  entityId: z.string(),
  source: z.enum(['store', 'live']),
  version: z.number(),
  prediction: z.unknown(),
  probabilities: z.record(z.string(), z.number()).optional(),
  jobId: z.string().nullable(),
  storedAt: z.string().nullable(),
});
