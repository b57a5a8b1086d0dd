'use client';
import { useState, type FormEvent } from 'react';
import type { PrincipalKind } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
import { ConfirmButton } from '@/components/confirm-button';

export interface Candidate {
  kind: PrincipalKind;
  id: string;
  name: string;
}

export function CreateGroupForm() {
  const { run, pending, error } = useApiAction();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const result = await run((api) =>
      api.createGroup({ name: String(form.get('name')).trim(), description: String(form.get('description') ?? '') }),
    );
    if (result.ok) formEl.reset();
  }

  return (
    <form className="form-grid" onSubmit={onSubmit}>
      <div className="field">
        <label htmlFor="group-name">Name</label>
        <input id="group-name" name="name" type="text" required maxLength={64} autoComplete="off" />
      </div>
      <div className="field field-wide">
        <label htmlFor="group-description">Description</label>
        <input id="group-description" name="description" type="text" maxLength={500} autoComplete="off" />
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={pending}>Create group</button>
      </div>
      <ErrorAlert message={error} />
    </form>
  );
}

export function AddMemberForm({ groupId, groupName, candidates }: { groupId: string; groupName: string; candidates: Candidate[] }) {
  const { run, pending, error } = useApiAction();
  const users = candidates.filter((c) => c.kind === 'user');
  const serviceAccounts = candidates.filter((c) => c.kind === 'serviceAccount');
  const selectId = `add-member-${groupId}`;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const value = String(new FormData(formEl).get('member') ?? '');
    const [kind, id] = value.split(':') as [PrincipalKind, string];
    if (!id) return;
    const result = await run((api) => api.addGroupMember(groupId, { kind, id }));
    if (result.ok) formEl.reset();
  }

  if (candidates.length === 0) return <p className="muted small">Everyone is already a member.</p>;
  return (
    <form className="inline-form" onSubmit={onSubmit}>
      <label htmlFor={selectId}>Add member to {groupName}</label>
      <select id={selectId} name="member" required defaultValue="">
        <option value="" disabled>Choose a user or service account</option>
        {users.length ? (
          <optgroup label="Users">
            {users.map((c) => <option key={c.id} value={`user:${c.id}`}>{c.name}</option>)}
          </optgroup>
        ) : null}
        {serviceAccounts.length ? (
          <optgroup label="Service accounts">
            {serviceAccounts.map((c) => <option key={c.id} value={`serviceAccount:${c.id}`}>{c.name}</option>)}
          </optgroup>
        ) : null}
      </select>
      <button type="submit" className="btn btn-secondary" disabled={pending}>Add</button>
      <ErrorAlert message={error} />
    </form>
  );
}

export function RemoveMemberButton({ groupId, groupName, member }: { groupId: string; groupName: string; member: Candidate }) {
  const { run, pending, error } = useApiAction();
  return (
    <>
      <button
        type="button"
        className="btn btn-link btn-small"
        aria-label={`Remove ${member.name} from ${groupName}`}
        disabled={pending}
        onClick={() => run((api) => api.removeGroupMember(groupId, { kind: member.kind, id: member.id }))}
      >
        Remove
      </button>
      <ErrorAlert message={error} />
    </>
  );
}

/** Deleting a group cannot be undone, so it takes a second click. */
export function DeleteGroupButton({ groupId, groupName }: { groupId: string; groupName: string }) {
  return (
    <ConfirmButton label="Delete" confirmLabel={`Delete ${groupName} for good`} ariaLabel={`Delete group ${groupName}`} action={(api) => api.deleteGroup(groupId)} />
  );
}
