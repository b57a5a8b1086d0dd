'use client';
import type { PrincipalKind } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';
import { ApiField, ApiForm } from '@/components/api-form';
import { text } from '@/components/form';
import { ConfirmButton } from '@/components/confirm-button';

export interface Candidate {
  kind: PrincipalKind;
  id: string;
  name: string;
}

export function CreateGroupForm() {
  return (
    <ApiForm
      label="Create group"
      submitLabel="Create group"
      submit={(form, api) =>
        api.createGroup({ name: text(form, 'name'), description: String(form.get('description') ?? '') })
      }
    >
      <ApiField id="group-name" label="Name">
        <input name="name" type="text" required maxLength={64} autoComplete="off" />
      </ApiField>
      <ApiField id="group-description" label="Description" size="wide">
        <input name="description" type="text" maxLength={500} autoComplete="off" />
      </ApiField>
    </ApiForm>
  );
}

export function AddMemberForm({
  groupId,
  groupName,
  candidates,
}: {
  groupId: string;
  groupName: string;
  candidates: Candidate[];
}) {
  const users = candidates.filter((c) => c.kind === 'user');
  const serviceAccounts = candidates.filter((c) => c.kind === 'serviceAccount');

  if (candidates.length === 0) return <p className="muted small">Everyone is already a member.</p>;
  return (
    <ApiForm
      layout="inline"
      submitLabel="Add"
      submitVariant="secondary"
      validate={(form) => (text(form, 'member').includes(':') ? null : 'Choose a user or service account.')}
      submit={(form, api) => {
        const [kind, id] = text(form, 'member').split(':') as [PrincipalKind, string];
        return api.addGroupMember(groupId, { kind, id });
      }}
    >
      <ApiField id={`add-member-${groupId}`} label={`Add member to ${groupName}`} size="inline">
        <select name="member" required defaultValue="">
          <option value="" disabled>
            Choose a user or service account
          </option>
          {users.length ? (
            <optgroup label="Users">
              {users.map((c) => (
                <option key={c.id} value={`user:${c.id}`}>
                  {c.name}
                </option>
              ))}
            </optgroup>
          ) : null}
          {serviceAccounts.length ? (
            <optgroup label="Service accounts">
              {serviceAccounts.map((c) => (
                <option key={c.id} value={`serviceAccount:${c.id}`}>
                  {c.name}
                </option>
              ))}
            </optgroup>
          ) : null}
        </select>
      </ApiField>
    </ApiForm>
  );
}

export function RemoveMemberButton({
  groupId,
  groupName,
  member,
}: {
  groupId: string;
  groupName: string;
  member: Candidate;
}) {
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
    <ConfirmButton
      label="Delete"
      confirmLabel={`Delete ${groupName} for good`}
      ariaLabel={`Delete group ${groupName}`}
      action={(api) => api.deleteGroup(groupId)}
    />
  );
}
