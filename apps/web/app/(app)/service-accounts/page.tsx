import type { Metadata } from 'next';
import { load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { CreateServiceAccountForm } from './create-service-account-form';
import { DisableButton, RoleForm } from '../users/user-controls';

export const metadata: Metadata = { title: 'Service accounts' };

export default async function ServiceAccountsPage() {
  const accounts = await load((api) => api.listServiceAccounts());
  return (
    <>
      <PageHeader title="Service accounts">Non-human identities for CI pipelines and applications; they authenticate with API keys.</PageHeader>
      {!accounts.ok ? (
        <ErrorAlert message={accounts.message} />
      ) : (
        <>
          <section className="card">
            <h2>Create service account</h2>
            <CreateServiceAccountForm />
          </section>
          <section className="card">
            <h2>All service accounts</h2>
            {accounts.data.length === 0 ? (
              <p className="muted">No service accounts yet.</p>
            ) : (
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Role</th>
                    <th scope="col">Description</th>
                    <th scope="col">Status</th>
                    <th scope="col">Created</th>
                    <th scope="col"><span className="visually-hidden">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {accounts.data.map((s) => (
                    <tr key={s.id}>
                      <td>{s.name}</td>
                      <td><RoleForm kind="serviceAccount" userId={s.id} label={s.name} role={s.role} /></td>
                      <td>{s.description || <span className="muted">—</span>}</td>
                      <td>{s.disabled ? <span className="badge badge-muted">disabled</span> : 'active'}</td>
                      <td className="nowrap">{formatTime(s.createdAt)}</td>
                      <td><DisableButton kind="serviceAccount" userId={s.id} label={s.name} disabled={s.disabled} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </>
  );
}
