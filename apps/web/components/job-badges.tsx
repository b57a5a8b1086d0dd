import type { TJob, TJobStatus } from '@modelyard/contracts';

export const JOB_TYPE_LABELS: Record<TJob['type'], string> = {
  batch_score: 'Batch scoring',
  predict_async: 'Async prediction',
};

/** Jobs that will change on their own: pages showing one poll until none is left. */
export const isActive = (status: TJobStatus) => status === 'queued' || status === 'running';

export function JobStatusBadge({ status }: { status: TJobStatus }) {
  return <span className={`badge badge-job-${status}`}>{status}</span>;
}

/** A job's progress as a bar with its percentage; `label` names the job for screen readers. */
export function JobProgress({ job, label }: { job: Pick<TJob, 'progress' | 'status'>; label: string }) {
  const pct = Math.max(0, Math.min(100, Math.round(job.progress)));
  return (
    <div className={`job-progress job-progress-${job.status}`}>
      <progress max={100} value={pct} aria-label={label} />
      <span className="small mono">{pct}%</span>
    </div>
  );
}

/** "v3", or a dash for a job that has no version yet. */
export function versionText(version: number | null): string {
  return version === null ? '—' : `v${version}`;
}
