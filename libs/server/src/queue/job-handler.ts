import type { JobName, JobPayloadParsed } from '@modelyard/contracts';

export interface JobContext {
  jobId: string;
  attempt: number;
  /** The job's attempt budget: a handler can tell whether this try is the last. */
  maxAttempts: number;
  updateProgress(progress: number): Promise<void>;
}

/**
 * A job handler: thin, it parses nothing itself (the worker parsed the payload with the JOBS schema) and
 * calls one service method. Handlers are listed in the worker module; the worker checks at boot that every
 * JOBS name has exactly one.
 */
export interface JobHandler<N extends JobName = JobName> {
  readonly job: N;
  handle(payload: JobPayloadParsed<N>, ctx: JobContext): Promise<unknown>;
}

export const JOB_HANDLERS = Symbol('JOB_HANDLERS');
