import { z } from 'zod';

/**
 * Stream deployments (issue 19): a model's deployment consumes a source stream and writes one result record per
 * input record to a sink stream. On Redis Streams the names below are keys under `<REDIS_PREFIX>:streams:`, so a
 * stream deployment can never read or write the platform's own keys (queues, sessions, rate limits).
 */
export const ZStreamKeyName = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:{}-]*$/, 'letters, digits, ".", "_", "-", ":", "{" and "}" only');

export const ZStreamName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit');

/** Sink fields the platform writes; copied input fields may not take these names. */
export const STREAM_RESULT_FIELDS = ['source_id', 'key', 'prediction', 'probabilities', 'version', 'role'] as const;

const ZFieldName = z.string().min(1).max(128);

export const ZStreamOptions = z.object({
  /**
   * Record field whose value routes the record (percentage pilots hash it as sync traffic hashes X-Routing-Key)
   * and, with `ordered`, keeps its records in order. Without it every record routes by the stream's name.
   */
  keyField: ZFieldName.optional(),
  /** Record field holding a JSON object of features; without it every field of the record is a feature. */
  payloadField: ZFieldName.optional(),
  /** Input fields copied into each result record beside the prediction. */
  copyFields: z
    .array(ZFieldName)
    .max(32)
    .default([])
    .refine(
      (fs) => fs.every((f) => !(STREAM_RESULT_FIELDS as readonly string[]).includes(f)),
      `copied fields cannot be named ${STREAM_RESULT_FIELDS.join(', ')}`,
    ),
  /** Records read and scored per batch. */
  batchSize: z.number().int().min(1).max(5000).default(200),
  /** Records read and not yet acknowledged per worker process (backpressure). */
  maxInFlight: z.number().int().min(1).max(100_000).default(2000),
  /** A record pending this long on a consumer (it crashed, or hangs) is claimed by another (XAUTOCLAIM). */
  claimIdleMs: z.number().int().min(100).max(3_600_000).default(30_000),
  /** A record delivered this many times without being acknowledged goes to the dead-letter stream. */
  maxDeliveries: z.number().int().min(1).max(100).default(5),
  /**
   * Keep each key's records in order: one worker consumes the stream at a time (the others stand by and take
   * over after `claimIdleMs`), one batch at a time.
   */
  ordered: z.boolean().default(false),
  /** The sink is trimmed to about this many records (XADD MAXLEN ~); 0 keeps everything. */
  sinkMaxLen: z.number().int().min(0).max(1_000_000_000).default(1_000_000),
});
export type TStreamOptions = z.infer<typeof ZStreamOptions>;

export const ZCreateStreamRequest = z.object({
  name: ZStreamName,
  source: ZStreamKeyName,
  sink: ZStreamKeyName,
  /** Records that cannot be scored go here with the reason; `<sink>.dead` by default. */
  deadLetter: ZStreamKeyName.optional(),
  /** Where a new consumer group starts: the records already in the source (`earliest`) or only new ones. */
  startAt: z.enum(['earliest', 'latest']).default('latest'),
  options: ZStreamOptions.default(ZStreamOptions.parse({})),
});
export type TCreateStreamRequest = z.input<typeof ZCreateStreamRequest>;

export const ZUpdateStreamRequest = z
  .object({ paused: z.boolean(), options: ZStreamOptions.partial() })
  .partial()
  .refine((p) => p.paused !== undefined || p.options !== undefined, 'give paused and/or options');
export type TUpdateStreamRequest = z.input<typeof ZUpdateStreamRequest>;

/** Move the consumer group: records after `fromId`, or added at or after `fromTime`, are delivered again. */
export const ZRewindStreamRequest = z.union([
  z.object({ fromId: z.string().regex(/^\d{1,20}(-\d{1,20})?$/, 'a stream id such as 1700000000000-0') }).strict(),
  z.object({ fromTime: z.iso.datetime({ offset: true }) }).strict(),
]);
export type TRewindStreamRequest = z.infer<typeof ZRewindStreamRequest>;

export const ZStreamStats = z.object({
  /** Records in the source the group has not been given yet (null when Redis cannot tell, e.g. after XDEL). */
  lag: z.number().int().nullable(),
  /** Records given to a consumer and not acknowledged. */
  pending: z.number().int(),
  sinkLength: z.number().int(),
  deadLetterLength: z.number().int(),
  lastDeliveredId: z.string().nullable(),
});
export type TStreamStats = z.infer<typeof ZStreamStats>;

export const ZStreamDeployment = z.object({
  id: z.string(),
  model: z.string(),
  name: z.string(),
  source: z.string(),
  sink: z.string(),
  deadLetter: z.string(),
  /** The Redis keys and consumer group the worker uses (producers XADD to `sourceKey`). */
  keys: z.object({ source: z.string(), sink: z.string(), deadLetter: z.string(), group: z.string() }),
  paused: z.boolean(),
  options: ZStreamOptions,
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Read from Redis with the answer; null when Redis did not answer. */
  stats: ZStreamStats.nullable(),
});
export type TStreamDeployment = z.infer<typeof ZStreamDeployment>;
