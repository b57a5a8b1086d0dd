'use client';
import { ROLES, type Role } from '@modelyard/contracts';
import { ApiField, ApiForm } from '@/components/api-form';
import { optional, text } from '@/components/form';

export function CreateUserForm() {
  return (
    <ApiForm
      label="Create user"
      submitLabel="Create user"
      submit={(form, api) =>
        api.createUser({
          email: text(form, 'email'),
          name: optional(form, 'name'),
          password: String(form.get('password')),
          role: text(form, 'role') as Role,
        })
      }
    >
      <ApiField id="user-email" label="Email">
        <input name="email" type="email" required autoComplete="off" />
      </ApiField>
      <ApiField id="user-name" label="Name">
        <input name="name" type="text" maxLength={128} autoComplete="off" />
      </ApiField>
      <ApiField id="user-password" label="Initial password" hint="At least 10 characters.">
        <input name="password" type="password" required minLength={10} autoComplete="new-password" />
      </ApiField>
      <ApiField id="user-role" label="Role">
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
