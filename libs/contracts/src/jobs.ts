import { z } from 'zod';

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
  'maintenance.cleanup': {
    queue: 'maintenance',
    payload: z.object({ reason: z.enum(['schedule', 'manual']).default('schedule') }),
  },
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.input<(typeof JOBS)[N]['payload']>;
export type JobPayloadParsed<N extends JobName> = z.output<(typeof JOBS)[N]['payload']>;
export const QUEUES: readonly string[] = [...new Set(Object.values(JOBS).map((j) => j.queue))];
