import type { Metadata } from 'next';
import type { TUser } from '@modelyard/contracts';
import { load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { DataTable, type Column } from '@/components/data-table';
import { CreateUserForm } from './create-user-form';
import { DisableButton, RoleForm } from './user-controls';

export const metadata: Metadata = { title: 'Users' };

const USER_COLUMNS: Column<TUser>[] = [
  { key: 'email', header: 'Email', cell: (u) => u.email, sort: (u) => u.email },
  { key: 'name', header: 'Name', cell: (u) => u.name, sort: (u) => u.name, hideBelow: 'md' },
  {
    key: 'role',
    header: 'Role',
    sort: (u) => u.role,
    nowrap: true,
    cell: (u) => (
      <>
        <span className={`badge badge-role-${u.role}`}>{u.role}</span>
        <RoleForm userId={u.id} label={u.email} role={u.role} />
      </>
    ),
  },
  {
    key: 'status',
    header: 'Status',
    sort: (u) => u.disabled,
    nowrap: true,
    cell: (u) => (u.disabled ? <span className="badge badge-muted">disabled</span> : 'active'),
  },
  { key: 'created', header: 'Created', cell: (u) => formatTime(u.createdAt), sort: (u) => u.createdAt, nowrap: true },
  {
    key: 'actions',
    header: <span className="visually-hidden">Actions</span>,
    cell: (u) => <DisableButton userId={u.id} label={u.email} disabled={u.disabled} />,
  },
];

export default async function UsersPage() {
  // No role check here: the API decides, and its 403 message is what a non-admin sees.
  const users = await load((api) => api.listUsers({ limit: 200 }));
  return (
    <>
      <PageHeader title="Users">
        People who sign in to the dashboard. Their role caps what they and their keys can do.
      </PageHeader>
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
            <DataTable
              label="Users"
              rows={users.data.items}
              rowKey={(u) => u.id}
              columns={USER_COLUMNS}
              pageSize={50}
              empty="No users yet."
              rowClassName={(u) => (u.disabled ? 'row-inactive' : undefined)}
            />
            {users.data.nextCursor ? <p className="muted">Showing the first {users.data.items.length} users.</p> : null}
          </section>
        </>
      )}
    </>
  );
}
