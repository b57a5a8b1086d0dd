'use client';
import type { TJobStatus } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
import { ConfirmButton } from '@/components/confirm-button';

/**
 * Cancel while queued or running (the worker stops between chunks), retry once failed or cancelled (it resumes
 * after the chunks already written). Only offered to roles with jobs.write; the API decides either way.
 */
export function JobActions({ id, status }: { id: string; status: TJobStatus }) {
  const { run, pending, error } = useApiAction();
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
  if (status === 'failed' || status === 'cancelled') {
    return (
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
    );
  }
  return null;
}
