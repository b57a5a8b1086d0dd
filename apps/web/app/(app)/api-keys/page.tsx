import type { Metadata } from 'next';
import { getMe, load } from '@/lib/api.server';
import { formatTime, isPast } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { CreateApiKeyForm } from './create-api-key-form';
import { RevokeKeyButton } from './revoke-key-button';

export const metadata: Metadata = { title: 'API keys' };

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
      <PageHeader title="API keys">Keys authenticate scripts and services. A key never carries more than its owner&apos;s role allows.</PageHeader>
      <section className="card">
        <h2>Create API key</h2>
        {serviceAccounts && !serviceAccounts.ok ? <ErrorAlert message={`Cannot list service accounts: ${serviceAccounts.message}`} /> : null}
        <CreateApiKeyForm
          myRole={me.data.role}
          serviceAccounts={serviceAccounts?.ok ? serviceAccounts.data.filter((s) => !s.disabled).map(({ id, name, role }) => ({ id, name, role })) : null}
        />
      </section>
      <section className="card">
        <h2>{isAdmin ? 'All API keys' : 'Your API keys'}</h2>
        {!keys.ok ? (
          <ErrorAlert message={keys.message} />
        ) : keys.data.length === 0 ? (
          <p className="muted">No API keys yet.</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Scopes</th>
                <th scope="col">Owner</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">Status</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => {
                const expired = isPast(k.expiresAt);
                return (
                  <tr key={k.id} className={k.revokedAt ? 'row-inactive' : undefined}>
                    <td>
                      <span>{k.name}</span>
                      {k.modelAllowList.length ? (
                        <div className="muted small">models: {k.modelAllowList.join(', ')}</div>
                      ) : null}
                    </td>
                    <td className="mono">{k.prefix}…</td>
                    <td>
                      <span className="scope-list">
                        {k.scopes.map((s) => <span key={s} className="badge badge-scope">{s}</span>)}
                      </span>
                    </td>
                    <td>
                      <span>{k.owner.name}</span>
                      {k.owner.kind === 'serviceAccount' ? <span className="badge badge-muted">service account</span> : null}
                    </td>
                    <td className="nowrap">{k.lastUsedAt ? formatTime(k.lastUsedAt) : 'never'}</td>
                    <td className="nowrap">{k.expiresAt ? formatTime(k.expiresAt) : 'never'}</td>
                    <td className="nowrap">
                      {k.revokedAt ? (
                        <span className="badge badge-danger" title={`Revoked ${formatTime(k.revokedAt)}`}>revoked</span>
                      ) : expired ? (
                        <span className="badge badge-muted">expired</span>
                      ) : (
                        <span className="badge badge-ok">active</span>
                      )}
                    </td>
                    <td>{k.revokedAt ? null : <RevokeKeyButton keyId={k.id} keyName={k.name} />}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
