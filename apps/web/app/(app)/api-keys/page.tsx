import type { Metadata } from 'next';
import type { TApiKey } from '@modelyard/contracts';
import { getMe, load } from '@/lib/api.server';
import { formatTime, isPast } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { DataTable, type Column } from '@/components/data-table';
import { CreateApiKeyForm } from './create-api-key-form';
import { RevokeKeyButton } from './revoke-key-button';

export const metadata: Metadata = { title: 'API keys' };

function KeyStatus({ k }: { k: TApiKey }) {
  if (k.revokedAt) {
    return (
      <span className="badge badge-danger" title={`Revoked ${formatTime(k.revokedAt)}`}>
        revoked
      </span>
    );
  }
  const expired = isPast(k.expiresAt);
  return <span className={`badge ${expired ? 'badge-muted' : 'badge-ok'}`}>{expired ? 'expired' : 'active'}</span>;
}
const keyStatus = (k: TApiKey) => (k.revokedAt ? 'revoked' : isPast(k.expiresAt) ? 'expired' : 'active');

const KEY_COLUMNS: Column<TApiKey>[] = [
  {
    // Key names and owners are often one long word (an env var, a service name): they may break anywhere.
    key: 'name',
    header: 'Name',
    sort: (k) => k.name,
    className: 'break',
    cell: (k) => (
      <>
        <span>{k.name}</span>
        {k.modelAllowList.length ? <div className="muted small">models: {k.modelAllowList.join(', ')}</div> : null}
      </>
    ),
  },
  { key: 'prefix', header: 'Prefix', nowrap: true, cell: (k) => <span className="mono">{k.prefix}…</span> },
  {
    key: 'scopes',
    header: 'Scopes',
    cell: (k) => (
      <span className="scope-list">
        {k.scopes.map((s) => (
          <span key={s} className="badge badge-scope">
            {s}
          </span>
        ))}
      </span>
    ),
  },
  {
    key: 'owner',
    header: 'Owner',
    sort: (k) => k.owner.name,
    className: 'break',
    cell: (k) => (
      <>
        <span>{k.owner.name}</span>
        {k.owner.kind === 'serviceAccount' ? <span className="badge badge-muted">service account</span> : null}
      </>
    ),
  },
  {
    key: 'used',
    header: 'Last used',
    sort: (k) => k.lastUsedAt,
    hideBelow: 'lg',
    cell: (k) => (k.lastUsedAt ? formatTime(k.lastUsedAt) : 'never'),
  },
  {
    key: 'expires',
    header: 'Expires',
    sort: (k) => k.expiresAt,
    hideBelow: 'md',
    cell: (k) => (k.expiresAt ? formatTime(k.expiresAt) : 'never'),
  },
  { key: 'status', header: 'Status', sort: keyStatus, nowrap: true, cell: (k) => <KeyStatus k={k} /> },
  {
    key: 'actions',
    header: <span className="visually-hidden">Actions</span>,
    cell: (k) => (k.revokedAt ? null : <RevokeKeyButton keyId={k.id} keyName={k.name} />),
  },
];

export default async function ApiKeysPage() {
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const isAdmin = me.data.role === 'admin';
  // Admins may mint keys for service accounts, so only they need the list to pick an owner from.
  const [keys, serviceAccounts] = await Promise.all([
    load((api) => api.listApiKeys()),
    isAdmin ? load((api) => api.listServiceAccounts()) : null,
  ]);

  return (
    <>
      <PageHeader title="API keys">
        Keys authenticate scripts and services. A key never carries more than its owner&apos;s role allows.
      </PageHeader>
      <section className="card">
        <h2>Create API key</h2>
        {serviceAccounts && !serviceAccounts.ok ? (
          <ErrorAlert message={`Cannot list service accounts: ${serviceAccounts.message}`} />
        ) : null}
        <CreateApiKeyForm
          myRole={me.data.role ?? 'viewer'}
          serviceAccounts={
            serviceAccounts?.ok
              ? serviceAccounts.data.filter((s) => !s.disabled).map(({ id, name, role }) => ({ id, name, role }))
              : null
          }
        />
      </section>
      <section className="card">
        <h2>{isAdmin ? 'All API keys' : 'Your API keys'}</h2>
        {!keys.ok ? (
          <ErrorAlert message={keys.message} />
        ) : (
          <DataTable
            label="API keys"
            rows={keys.data}
            rowKey={(k) => k.id}
            columns={KEY_COLUMNS}
            pageSize={50}
            empty="No API keys yet."
            rowClassName={(k) => (k.revokedAt ? 'row-inactive' : undefined)}
          />
        )}
      </section>
    </>
  );
}
