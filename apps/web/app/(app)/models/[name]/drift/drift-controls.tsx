'use client';
import { useEffect, useRef, type ReactNode } from 'react';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';

/** Queues a new reference profile from the version's stored reference dataset (drift.write). */
export function RebuildProfileButton({ model, version }: { model: string; version: number }) {
  const { run, pending, error } = useApiAction();
  return (
    <div className="inline-form inline-form-tight rebuild-profile">
      <button
        type="button"
        className="btn btn-secondary btn-small"
        disabled={pending}
        onClick={() => run((api) => api.rebuildDriftProfile(model, version))}
      >
        {pending ? 'Queueing…' : 'Rebuild the reference profile'}
      </button>
      <ErrorAlert message={error} />
    </div>
  );
}

/**
 * The feature detail's heading. When a heat-map link was just used (focus is still on it), focus moves here so
 * a keyboard or screen-reader user lands on what they asked for instead of tabbing through the rest of the map;
 * on a fresh page load nothing is focused and nothing moves.
 */
export function DetailHeading({ id, selection, children }: { id: string; selection: string; children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (document.activeElement instanceof HTMLElement && document.activeElement.closest('.drift-heatmap')) {
      ref.current?.focus({ preventScroll: true });
      ref.current?.scrollIntoView({ block: 'start', behavior: 'smooth' });
    }
  }, [selection]);
  return (
    <h2 id={id} ref={ref} tabIndex={-1} className="drift-detail-title">
      {children}
    </h2>
  );
}
