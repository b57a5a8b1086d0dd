'use client';
import { ROLES, type Role } from '@modelyard/contracts';
import { ApiField, ApiForm } from '@/components/api-form';
import { text } from '@/components/form';

export function CreateServiceAccountForm() {
  return (
    <ApiForm
      label="Create service account"
      submitLabel="Create service account"
      submit={(form, api) =>
        api.createServiceAccount({
          name: text(form, 'name'),
          description: String(form.get('description') ?? ''),
          role: text(form, 'role') as Role,
        })
      }
    >
      <ApiField id="sa-name" label="Name">
        <input name="name" type="text" required maxLength={64} autoComplete="off" />
      </ApiField>
      <ApiField id="sa-role" label="Role">
        <select name="role" defaultValue="viewer">
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </ApiField>
      <ApiField id="sa-description" label="Description" size="wide">
        <input name="description" type="text" maxLength={500} autoComplete="off" />
      </ApiField>
    </ApiForm>
  );
}
