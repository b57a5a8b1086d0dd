'use client';
import { useState } from 'react';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
import { ConfirmButton } from '@/components/confirm-button';

/** Pause / resume, run once now, delete (with a second click). */
export function ScheduleActions({ id, name, paused }: { id: string; name: string; paused: boolean }) {
  const { run, pending, error } = useApiAction();
  const [started, setStarted] = useState(false);

  async function runNow() {
    setStarted(false);
    const r = await run((api) => api.runSchedule(id));
    if (r.ok) setStarted(true);
  }

  return (
    <div className="row-actions">
      <button
        type="button"
        className="btn btn-secondary btn-small"
        disabled={pending}
        aria-label={`${paused ? 'Resume' : 'Pause'} ${name}`}
        onClick={() => run((api) => (paused ? api.resumeSchedule(id) : api.pauseSchedule(id)))}
      >
        {paused ? 'Resume' : 'Pause'}
      </button>
      <button
        type="button"
        className="btn btn-secondary btn-small"
        disabled={pending}
        aria-label={`Run ${name} now`}
        onClick={runNow}
      >
        Run now
      </button>
      <ConfirmButton
        label="Delete"
        confirmLabel="Delete schedule"
        ariaLabel={`Delete ${name}`}
        action={(api) => api.deleteSchedule(id)}
      />
      {started ? (
        <p className="notice-inline small" role="status">
          Started: new files become jobs.
        </p>
      ) : null}
      <ErrorAlert message={error} />
    </div>
  );
}
