import { z } from 'zod';
import { pageOf } from './auth.js';
import { ZPilotJudge } from './feedback.js';

/**
 * A model's deployment configuration. `production` answers by default: the version in the Production stage, or
 * a pinned version. A pilot answers callers in its groups (membership of the caller's user or service account)
 * and/or a sticky percentage of callers, by routing key (the API key by default, or the X-Routing-Key header).
 * Silent versions get a copy of production traffic and never answer (issue 6, next increment).
 */
export const ZPilot = z
  .object({
    version: z.number().int().min(1),
    groups: z.array(z.uuid()).max(100).default([]),
    percentage: z.number().min(0).max(100).default(0),
    startsAt: z.iso.datetime({ offset: true }).optional(),
    endsAt: z.iso.datetime({ offset: true }).optional(),
    /**
     * Switch the pilot off by itself when, over the last `windowMinutes` (with at least `minRequests` requests),
     * its server error rate or its p99 latency goes over the limit. Checked by the worker.
     */
    autoRollback: z
      .object({
        maxErrorRate: z.number().min(0).max(1).optional(),
        maxP99Ms: z.number().positive().optional(),
        windowMinutes: z.number().int().min(1).max(60).default(5),
        minRequests: z.number().int().min(1).default(20),
      })
      .refine((a) => a.maxErrorRate !== undefined || a.maxP99Ms !== undefined, 'give maxErrorRate and/or maxP99Ms')
      .optional(),
    /** Judged by statistics on labelled predictions: promoted when better, rolled back when worse (issue 18). */
    judge: ZPilotJudge.optional(),
  })
  .refine((p) => p.groups.length > 0 || p.percentage > 0, 'a pilot needs groups or a percentage');
export type TPilot = z.infer<typeof ZPilot>;

export const ZSilent = z.object({
  version: z.number().int().min(1),
  sampleRate: z.number().min(0).max(1).default(1),
});

export const ZDeploymentConfig = z.object({
  production: z
    .discriminatedUnion('mode', [
      z.object({ mode: z.literal('stage') }),
      z.object({ mode: z.literal('pinned'), version: z.number().int().min(1) }),
    ])
    .default({ mode: 'stage' }),
  pilots: z.array(ZPilot).max(10).default([]),
  silent: z.array(ZSilent).max(5).default([]),
});
export type TDeploymentConfig = z.infer<typeof ZDeploymentConfig>;

export const ZPutDeploymentRequest = z.object({ config: ZDeploymentConfig, comment: z.string().max(2000).default('') });
export type TPutDeploymentRequest = z.infer<typeof ZPutDeploymentRequest>;
export const ZRollbackRequest = z.object({
  /** The revision to restore; the one before the current by default. */
  revision: z.number().int().min(1).optional(),
  comment: z.string().max(2000).default(''),
});
export type TRollbackRequest = z.infer<typeof ZRollbackRequest>;

export const ZDeploymentRevision = z.object({
  revision: z.number().int(),
  config: ZDeploymentConfig,
  author: z.object({ kind: z.string(), id: z.string().nullable(), name: z.string().nullable() }),
  comment: z.string(),
  createdAt: z.string(),
});
export type TDeploymentRevision = z.infer<typeof ZDeploymentRevision>;
export const ZDeployment = z.object({ model: z.string(), current: ZDeploymentRevision.nullable() });
export type TDeployment = z.infer<typeof ZDeployment>;
export const ZDeploymentRevisions = pageOf(ZDeploymentRevision);

export const ZPromotePilotRequest = z.object({
  version: z.number().int().min(1),
  comment: z.string().max(2000).default(''),
});
export type TPromotePilotRequest = z.infer<typeof ZPromotePilotRequest>;

/** Latency and errors of one role over the comparison's time range; null quantiles and rates when it had no traffic. */
const ZRoleLatency = z.object({
  count: z.number(),
  errors: z.number(),
  errorRate: z.number().nullable(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});
/**
 * `GET /v1/models/{name}/deployment/comparison?version=`: a candidate next to production. Agreement: a silent
 * version's answers against production's on the mirrored requests; a pilot's answers against production run
 * afterwards on the pilot's own requests (both sampled within SILENT_CPU_SHARE). Latency and errors come from the
 * rollups of either role.
 */
export const ZDeploymentComparison = z.object({
  model: z.string(),
  version: z.number().int(),
  from: z.string(),
  to: z.string(),
  compared: z.number(),
  rows: z.number(),
  dropped: z.number(),
  errors: z.number(),
  labelAgreement: z.number().nullable(),
  meanProbAbsDiff: z.number().nullable(),
  meanValueAbsDiff: z.number().nullable(),
  latency: z.object({ production: ZRoleLatency, candidate: ZRoleLatency }),
});
export type TDeploymentComparison = z.infer<typeof ZDeploymentComparison>;
