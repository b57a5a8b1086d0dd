'use client';
import { useState, type FormEvent } from 'react';
import { ROLES, type Role } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';

/**
 * A user's (or service account's) role, changed in place. Demoting ends the user's sessions (the API does it); the last active admin
 * cannot be demoted, and the API's message says so.
 */
export function RoleForm({ userId, label, role, kind = 'user' }: { userId: string; label: string; role: Role; kind?: 'user' | 'serviceAccount' }) {
  const { run, pending, error } = useApiAction();
  const [value, setValue] = useState<Role>(role);
  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    await run(async (api) => { await (kind === 'user' ? api.updateUser(userId, { role: value }) : api.updateServiceAccount(userId, { role: value })); });
  }
  const id = `role-${userId}`;
  return (
    <form className="inline-form inline-form-tight role-form" onSubmit={onSubmit} aria-label={`Change the role of ${label}`}>
      <label htmlFor={id} className="visually-hidden">Role of {label}</label>
      <select id={id} value={value} onChange={(e) => setValue(e.target.value as Role)}>
        {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
      </select>
      <button type="submit" className="btn btn-secondary btn-small" disabled={pending || value === role}>Save role</button>
      <ErrorAlert message={error} />
    </form>
  );
}

/** Disabling ends the user's sessions and stops their keys; enabling lets them sign in again. */
export function DisableButton({ userId, label, disabled, kind = 'user' }: { userId: string; label: string; disabled: boolean; kind?: 'user' | 'serviceAccount' }) {
  const { run, pending, error } = useApiAction();
  return (
    <div className="danger-zone">
      <button
        type="button" className="btn btn-secondary btn-small" disabled={pending}
        aria-label={`${disabled ? 'Enable' : 'Disable'} ${label}`}
        onClick={() => run(async (api) => { await (kind === 'user' ? api.updateUser(userId, { disabled: !disabled }) : api.updateServiceAccount(userId, { disabled: !disabled })); })}
      >
        {disabled ? 'Enable' : 'Disable'}
      </button>
      <ErrorAlert message={error} />
    </div>
  );
}
