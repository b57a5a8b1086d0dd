'use client';
import { useState } from 'react';
import type { ModelyardClient } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';

/**
 * A destructive action that takes a second click instead of window.confirm(): keyboard and screen-reader
 * friendly, and not a modal. Shows the API's own message when the action is refused.
 */
export function ConfirmButton(props: {
  label: string;
  confirmLabel: string;
  ariaLabel: string;
  /** The button that backs out of the confirmation; "Cancel" unless that would read as the action itself. */
  dismissLabel?: string;
  action: (api: ModelyardClient) => Promise<unknown>;
}) {
  const { run, pending, error } = useApiAction();
  const [confirming, setConfirming] = useState(false);
  return (
    <div className="danger-zone">
      {confirming ? (
        <>
          <button
            type="button"
            className="btn btn-danger btn-small"
            disabled={pending}
            onClick={() => run(props.action)}
          >
            {props.confirmLabel}
          </button>
          <button type="button" className="btn btn-secondary btn-small" onClick={() => setConfirming(false)}>
            {props.dismissLabel ?? 'Cancel'}
          </button>
        </>
      ) : (
        <button
          type="button"
          className="btn btn-secondary btn-small"
          aria-label={props.ariaLabel}
          onClick={() => setConfirming(true)}
        >
          {props.label}
        </button>
      )}
      <ErrorAlert message={error} />
    </div>
  );
}
