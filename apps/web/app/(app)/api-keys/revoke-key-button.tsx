'use client';
import { ConfirmButton } from '@/components/confirm-button';

/** Revoking cannot be undone, so it takes a second click. */
export function RevokeKeyButton({ keyId, keyName }: { keyId: string; keyName: string }) {
  return (
    <ConfirmButton
      label="Revoke"
      confirmLabel="Confirm revoke"
      ariaLabel={`Revoke API key ${keyName}`}
      action={(api) => api.revokeApiKey(keyId)}
    />
  );
}
