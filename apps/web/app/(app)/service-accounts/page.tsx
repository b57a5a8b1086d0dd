import type { Metadata } from 'next';
import type { TServiceAccount } from '@modelyard/contracts';
import { load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { DataTable, type Column } from '@/components/data-table';
import { CreateServiceAccountForm } from './create-service-account-form';
import { DisableButton, RoleForm } from '../users/user-controls';

export const metadata: Metadata = { title: 'Service accounts' };

const ACCOUNT_COLUMNS: Column<TServiceAccount>[] = [
  { key: 'name', header: 'Name', cell: (s) => s.name, sort: (s) => s.name },
  {
    key: 'role',
    header: 'Role',
    sort: (s) => s.role,
    nowrap: true,
    cell: (s) => <RoleForm kind="serviceAccount" userId={s.id} label={s.name} role={s.role} />,
  },
  {
    key: 'description',
    header: 'Description',
    hideBelow: 'md',
    cell: (s) => s.description || <span className="muted">—</span>,
  },
  {
    key: 'status',
    header: 'Status',
    sort: (s) => s.disabled,
    nowrap: true,
    cell: (s) => (s.disabled ? <span className="badge badge-muted">disabled</span> : 'active'),
  },
  { key: 'created', header: 'Created', cell: (s) => formatTime(s.createdAt), sort: (s) => s.createdAt, nowrap: true },
  {
    key: 'actions',
    header: <span className="visually-hidden">Actions</span>,
    cell: (s) => <DisableButton kind="serviceAccount" userId={s.id} label={s.name} disabled={s.disabled} />,
  },
];

export default async function ServiceAccountsPage() {
  const accounts = await load((api) => api.listServiceAccounts());
  return (
    <>
      <PageHeader title="Service accounts">
        Non-human identities for CI pipelines and applications; they authenticate with API keys.
      </PageHeader>
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
            <DataTable
              label="Service accounts"
              rows={accounts.data}
              rowKey={(s) => s.id}
              columns={ACCOUNT_COLUMNS}
              pageSize={50}
              empty="No service accounts yet."
            />
          </section>
        </>
      )}
    </>
  );
}
