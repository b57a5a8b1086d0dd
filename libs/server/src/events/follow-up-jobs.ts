import type { JobsOptions } from 'bullmq';
import type { DomainEventData, DomainEventType, JobName, JobPayload } from '@modelyard/contracts';

export interface FollowUp<N extends JobName = JobName> {
  name: N;
  payload: JobPayload<N>;
  /** Always a fixed jobId: the queue drops a second copy, so a redelivered event queues its work once. */
  opts: JobsOptions & { jobId: string };
}

type Rules = { [T in DomainEventType]?: (objectId: string, data: DomainEventData<T>) => FollowUp | null };

const job = <N extends JobName>(name: N, payload: JobPayload<N>, opts: FollowUp['opts']): FollowUp => ({
  name,
  payload,
  opts,
});

/** The work an event starts. The one place that says which change queues which job. */
export const FOLLOW_UP_JOBS: Rules = {
  'version.created': (id) => job('registry.validate', { versionId: id }, { jobId: `validate-${id}`, attempts: 3 }),
  'version.ready': (id, d) =>
    d.hasReference ? job('drift.profile', { versionId: id }, { jobId: `drift-profile-${id}` }) : null,
  'job.created': (id) => job('batch.score', { jobId: id }, { jobId: `batch-${id}-0` }),
  'job.retried': (id, d) =>
    d.type === 'batch_score'
      ? job('batch.score', { jobId: id }, { jobId: `batch-${id}-${d.run}` })
      : job('predict.async', { jobId: id }, { jobId: `async-${id}-${d.run}`, attempts: 3 }),
};

export function followUpJob<T extends DomainEventType>(type: T, objectId: string | null, data: DomainEventData<T>) {
  const rule = FOLLOW_UP_JOBS[type] as ((id: string, d: DomainEventData<T>) => FollowUp | null) | undefined;
  return rule && objectId ? rule(objectId, data) : null;
}
