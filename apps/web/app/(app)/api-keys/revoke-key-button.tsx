'use client';
import { useState } from 'react';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';

/** Revoking cannot be undone, so it takes a second click. */
export function RevokeKeyButton({ keyId, keyName }: { keyId: string; keyName: string }) {
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
            onClick={() => run((api) => api.revokeApiKey(keyId))}
          >
            Confirm revoke
          </button>
          <button type="button" className="btn btn-secondary btn-small" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button
          type="button"
          className="btn btn-secondary btn-small"
          aria-label={`Revoke API key ${keyName}`}
          onClick={() => setConfirming(true)}
        >
          Revoke
        </button>
      )}
      <ErrorAlert message={error} />
    </div>
  );
}
