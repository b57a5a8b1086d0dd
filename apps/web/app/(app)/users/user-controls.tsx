'use client';
import { useState } from 'react';
import { ROLES, type Role } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
import { ApiField, ApiForm } from '@/components/api-form';

/**
 * A user's (or service account's) role, changed in place. Demoting ends the user's sessions (the API does it); the last active admin
 * cannot be demoted, and the API's message says so.
 */
export function RoleForm({
  userId,
  label,
  role,
  kind = 'user',
}: {
  userId: string;
  label: string;
  role: Role;
  kind?: 'user' | 'serviceAccount';
}) {
  const [value, setValue] = useState<Role>(role);
  return (
    <ApiForm
      layout="inline"
      className="inline-form-tight role-form"
      label={`Change the role of ${label}`}
      reset={false}
      submitLabel="Save role"
      submitVariant="secondary"
      submitSmall
      submitDisabled={value === role}
      submit={async (_form, api) => {
        const change = { role: value };
        await (kind === 'user' ? api.updateUser(userId, change) : api.updateServiceAccount(userId, change));
      }}
    >
      <ApiField id={`role-${userId}`} label={`Role of ${label}`} hiddenLabel size="inline">
        <select value={value} onChange={(e) => setValue(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </ApiField>
    </ApiForm>
  );
}

/** Disabling ends the user's sessions and stops their keys; enabling lets them sign in again. */
export function DisableButton({
  userId,
  label,
  disabled,
  kind = 'user',
}: {
  userId: string;
  label: string;
  disabled: boolean;
  kind?: 'user' | 'serviceAccount';
}) {
  const { run, pending, error } = useApiAction();
  return (
    <div className="danger-zone">
      <button
        type="button"
        className="btn btn-secondary btn-small"
        disabled={pending}
        aria-label={`${disabled ? 'Enable' : 'Disable'} ${label}`}
        onClick={() =>
          run(async (api) => {
            await (kind === 'user'
              ? api.updateUser(userId, { disabled: !disabled })
              : api.updateServiceAccount(userId, { disabled: !disabled }));
          })
        }
      >
        {disabled ? 'Enable' : 'Disable'}
      </button>
      <ErrorAlert message={error} />
    </div>
  );
}
