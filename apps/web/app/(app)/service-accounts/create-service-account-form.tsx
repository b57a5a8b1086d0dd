'use client';
import type { FormEvent } from 'react';
import { ROLES, type Role } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';

export function CreateServiceAccountForm() {
  const { run, pending, error } = useApiAction();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const result = await run((api) =>
      api.createServiceAccount({
        name: String(form.get('name')).trim(),
        description: String(form.get('description') ?? ''),
        role: String(form.get('role')) as Role,
      }),
    );
    if (result.ok) formEl.reset();
  }

  return (
    <form className="form-grid" onSubmit={onSubmit}>
      <div className="field">
        <label htmlFor="sa-name">Name</label>
        <input id="sa-name" name="name" type="text" required maxLength={64} autoComplete="off" />
      </div>
      <div className="field">
        <label htmlFor="sa-role">Role</label>
        <select id="sa-role" name="role" defaultValue="viewer">
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </div>
      <div className="field field-wide">
        <label htmlFor="sa-description">Description</label>
        <input id="sa-description" name="description" type="text" maxLength={500} autoComplete="off" />
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={pending}>Create service account</button>
      </div>
      <ErrorAlert message={error} />
    </form>
  );
}
