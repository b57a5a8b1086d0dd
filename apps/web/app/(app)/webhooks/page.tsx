import type { Metadata } from 'next';
import Link from 'next/link';
import { load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { CreateWebhookForm, DeleteWebhookButton } from './webhook-controls';

export const metadata: Metadata = { title: 'Webhooks' };

export default async function WebhooksPage() {
  const hooks = await load((api) => api.listWebhooks());
  return (
    <>
      <PageHeader title="Webhooks">
        Signed POSTs to your systems when models, versions, deployments or alerts change. Each delivery is retried with backoff.
      </PageHeader>
      {!hooks.ok ? (
        <ErrorAlert message={hooks.message} />
      ) : (
        <>
          <section className="card">
            <h2>Create webhook</h2>
            <CreateWebhookForm />
          </section>
          <section className="card">
            <h2>All webhooks</h2>
            {hooks.data.length === 0 ? (
              <p className="muted">No webhooks yet.</p>
            ) : (
              <table className="table" aria-label="Webhooks">
                <thead>
                  <tr>
                    <th scope="col">URL</th>
                    <th scope="col">Events</th>
                    <th scope="col">Status</th>
                    <th scope="col">Created</th>
                    <th scope="col"><span className="visually-hidden">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {hooks.data.map((h) => (
                    <tr key={h.id}>
                      <th scope="row" className="row-title break">
                        <Link href={`/webhooks/${h.id}`} aria-label={`Deliveries of ${h.url}`}>{h.url}</Link>
                        {h.description ? <div className="muted small">{h.description}</div> : null}
                      </th>
                      <td><span className="scope-list">{h.events.map((e) => <span key={e} className="badge badge-scope">{e}</span>)}</span></td>
                      <td>{h.active ? <span className="badge badge-ok">active</span> : <span className="badge badge-muted">inactive</span>}</td>
                      <td className="nowrap">{formatTime(h.createdAt)}</td>
                      <td><DeleteWebhookButton id={h.id} url={h.url} /></td>
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
