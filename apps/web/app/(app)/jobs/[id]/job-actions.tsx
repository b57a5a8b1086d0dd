'use client';
import { useRouter } from 'next/navigation';
import { pageInProject, type TJobStatus } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
import { ConfirmButton } from '@/components/confirm-button';
import { useProject } from '@/components/project';

/**
 * Cancel while queued or running (the worker stops between chunks), retry once failed or cancelled (it resumes
 * after the chunks already written), delete once finished (with its files, which frees them in the project's
 * stored-bytes quota; back to the jobs list). Only offered to roles with jobs.write; the API decides either way.
 */
export function JobActions({ id, status }: { id: string; status: TJobStatus }) {
  const { run, pending, error } = useApiAction();
  const router = useRouter();
  const project = useProject();
  if (status === 'queued' || status === 'running') {
    return (
      <ConfirmButton
        label="Cancel job"
        confirmLabel="Yes, cancel the job"
        dismissLabel="Keep running"
        ariaLabel="Cancel job"
        action={(api) => api.cancelJob(id)}
      />
    );
  }
  const remove = (
    <ConfirmButton
      label="Delete job"
      confirmLabel="Yes, delete the job and its files"
      dismissLabel="Keep it"
      ariaLabel="Delete job"
      action={(api) => api.deleteJob(id).then(() => router.push(pageInProject(project, '/jobs')))}
    />
  );
  if (status === 'failed' || status === 'cancelled') {
    return (
      <div className="job-actions">
        <div className="danger-zone">
          <button
            type="button"
            className="btn btn-secondary btn-small"
            disabled={pending}
            onClick={() => run((api) => api.retryJob(id))}
          >
            {pending ? 'Retrying…' : 'Retry job'}
          </button>
          <ErrorAlert message={error} />
        </div>
        {remove}
      </div>
    );
  }
  return remove;
}
