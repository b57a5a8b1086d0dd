import type { Metadata } from 'next';
import { getMe } from '@/lib/api.server';
import { PageHeader } from '@/components/page-header';

export const metadata: Metadata = { title: 'Overview' };

export default async function OverviewPage() {
  const me = await getMe();
  // The layout shows the error when /v1/me fails; nothing more to say here.
  if (!me.ok) return null;
  const { data } = me;
  return (
    <>
      <PageHeader title="Overview" />
      <section className="card">
        <h2>Signed in as</h2>
        <dl className="details">
          <dt>Name</dt>
          <dd>{data.name}</dd>
          <dt>Email</dt>
          <dd>{data.email ?? '—'}</dd>
          <dt>Role</dt>
          <dd><span className={`badge badge-role-${data.role}`}>{data.role}</span></dd>
          <dt>Groups</dt>
          <dd>{data.groups.length ? data.groups.map((g) => g.name).join(', ') : 'None'}</dd>
        </dl>
      </section>
      <section className="card empty-state">
        <h2>Models</h2>
        <p className="muted">Models will appear here.</p>
      </section>
    </>
  );
}
