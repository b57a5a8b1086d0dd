import type { Metadata } from 'next';
import { load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { CreateUserForm } from './create-user-form';
import { DisableButton, RoleForm } from './user-controls';

export const metadata: Metadata = { title: 'Users' };

export default async function UsersPage() {
  // No role check here: the API decides, and its 403 message is what a non-admin sees.
  const users = await load((api) => api.listUsers({ limit: 200 }));
  return (
    <>
      <PageHeader title="Users">People who sign in to the dashboard. Their role caps what they and their keys can do.</PageHeader>
      {!users.ok ? (
        <ErrorAlert message={users.message} />
      ) : (
        <>
          <section className="card">
            <h2>Create user</h2>
            <CreateUserForm />
          </section>
          <section className="card">
            <h2>All users</h2>
            <table className="table" aria-label="Users">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col"><span className="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {users.data.items.map((u) => (
                  <tr key={u.id} className={u.disabled ? 'row-inactive' : undefined}>
                    <td>{u.email}</td>
                    <td>{u.name}</td>
                    <td>
                      <span className={`badge badge-role-${u.role}`}>{u.role}</span>
                      <RoleForm userId={u.id} label={u.email} role={u.role} />
                    </td>
                    <td>{u.disabled ? <span className="badge badge-muted">disabled</span> : 'active'}</td>
                    <td className="nowrap">{formatTime(u.createdAt)}</td>
                    <td><DisableButton userId={u.id} label={u.email} disabled={u.disabled} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
            {users.data.nextCursor ? <p className="muted">Showing the first {users.data.items.length} users.</p> : null}
          </section>
        </>
      )}
    </>
  );
}
