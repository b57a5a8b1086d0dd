'use client';
import type { FormEvent } from 'react';
import { ROLES, type Role } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';

export function CreateUserForm() {
  const { run, pending, error } = useApiAction();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const name = String(form.get('name') ?? '').trim();
    const result = await run((api) =>
      api.createUser({
        email: String(form.get('email')),
        name: name === '' ? undefined : name,
        password: String(form.get('password')),
        role: String(form.get('role')) as Role,
      }),
    );
    if (result.ok) formEl.reset();
  }

  return (
    <form className="form-grid" onSubmit={onSubmit}>
      <div className="field">
        <label htmlFor="user-email">Email</label>
        <input id="user-email" name="email" type="email" required autoComplete="off" />
      </div>
      <div className="field">
        <label htmlFor="user-name">Name</label>
        <input id="user-name" name="name" type="text" maxLength={128} autoComplete="off" />
      </div>
      <div className="field">
        <label htmlFor="user-password">Initial password</label>
        <input id="user-password" name="password" type="password" required minLength={10} autoComplete="new-password" />
      </div>
      <div className="field">
        <label htmlFor="user-role">Role</label>
        <select id="user-role" name="role" defaultValue="viewer">
          {ROLES.map((r) => (
            <option key={r} value={r}>{r}</option>
          ))}
        </select>
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={pending}>Create user</button>
      </div>
      <ErrorAlert message={error} />
    </form>
  );
}
