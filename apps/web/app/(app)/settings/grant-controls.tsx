'use client';
import { useState } from 'react';
import { ROLES, type Role, type TGroup } from '@modelyard/contracts';
import { ApiField, ApiForm } from '@/components/api-form';
import { ConfirmButton } from '@/components/confirm-button';
import { text } from '@/components/form';

/**
 * Gives a user (by e-mail: a project's admins need not be platform admins, who alone list users) or a group a
 * role in the page's project; a subject that already has one gets the new role.
 */
export function AddGrantForm({ groups }: { groups: Pick<TGroup, 'id' | 'name'>[] }) {
  const [kind, setKind] = useState<'user' | 'group'>('user');
  return (
    <ApiForm
      label="Add a member"
      submitLabel="Add member"
      reset={false}
      submit={(form, api) =>
        api.putProjectGrant(
          kind === 'user'
            ? { kind, email: text(form, 'email'), role: text(form, 'role') as Role }
            : { kind, id: text(form, 'group'), role: text(form, 'role') as Role },
        )
      }
    >
      <ApiField id="grant-kind" label="Member" path="kind">
        <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as 'user' | 'group')}>
          <option value="user">User</option>
          <option value="group">Group</option>
        </select>
      </ApiField>
      {kind === 'user' ? (
        <ApiField id="grant-email" label="User's email">
          <input name="email" type="email" required autoComplete="off" />
        </ApiField>
      ) : (
        <ApiField id="grant-group" label="Group" path="id">
          <select name="group" required defaultValue="">
            <option value="" disabled>
              {groups.length ? 'Choose a group' : 'No groups yet'}
            </option>
            {groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </ApiField>
      )}
      <ApiField id="grant-role" label="Role">
        <select name="role" defaultValue="viewer">
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

/** A member's role in the project, changed in place. */
export function GrantRoleForm(props: { kind: 'user' | 'group'; id: string; name: string; role: Role }) {
  const [value, setValue] = useState<Role>(props.role);
  return (
    <ApiForm
      layout="inline"
      className="inline-form-tight role-form"
      label={`Change the role of ${props.name}`}
      reset={false}
      submitLabel="Save role"
      submitVariant="secondary"
      submitSmall
      submitDisabled={value === props.role}
      submit={(_form, api) => api.putProjectGrant({ kind: props.kind, id: props.id, role: value })}
    >
      <ApiField id={`grant-role-${props.id}`} label={`Role of ${props.name}`} hiddenLabel size="inline">
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

export function RemoveGrantButton(props: { kind: 'user' | 'group'; id: string; name: string }) {
  return (
    <ConfirmButton
      label="Remove"
      confirmLabel={`Remove ${props.name}`}
      ariaLabel={`Remove ${props.name} from the project`}
      action={(api) => api.removeProjectGrant(props.kind, props.id)}
    />
  );
}

/** The project's description (its admins edit it; quotas are the platform admins', on the Projects page). */
export function DescriptionForm({ description }: { description: string }) {
  return (
    <ApiForm
      label="Project description"
      submitLabel="Save description"
      submitVariant="secondary"
      reset={false}
      submit={(form, api) => api.updateProject({ description: String(form.get('description') ?? '') })}
    >
      <ApiField id="project-description" label="Description" size="full">
        <textarea name="description" defaultValue={description} maxLength={2000} rows={2} />
      </ApiField>
    </ApiForm>
  );
}
