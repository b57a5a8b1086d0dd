import type { Metadata } from 'next';
import type { TWebhook } from '@modelyard/contracts';
import Link from '@/components/project';
import { load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { DataTable, Truncate, type Column } from '@/components/data-table';
import { CreateWebhookForm, DeleteWebhookButton } from './webhook-controls';

export const metadata: Metadata = { title: 'Webhooks' };

const WEBHOOK_COLUMNS: Column<TWebhook>[] = [
  {
    key: 'url',
    header: 'URL',
    sort: (h) => h.url,
    rowHeader: true,
    width: '40%',
    cell: (h) => (
      <>
        <Link href={`/webhooks/${h.id}`} aria-label={`Deliveries of ${h.url}`}>
          <Truncate text={h.url} />
        </Link>
        {h.description ? <div className="muted small">{h.description}</div> : null}
      </>
    ),
  },
  {
    key: 'events',
    header: 'Events',
    cell: (h) => (
      <span className="scope-list">
        {h.events.map((e) => (
          <span key={e} className="badge badge-scope">
            {e}
          </span>
        ))}
      </span>
    ),
  },
  {
    key: 'status',
    header: 'Status',
    sort: (h) => h.active,
    nowrap: true,
    cell: (h) => (
      <span className={`badge ${h.active ? 'badge-ok' : 'badge-muted'}`}>{h.active ? 'active' : 'inactive'}</span>
    ),
  },
  { key: 'created', header: 'Created', cell: (h) => formatTime(h.createdAt), sort: (h) => h.createdAt, nowrap: true },
  {
    key: 'actions',
    header: <span className="visually-hidden">Actions</span>,
    cell: (h) => <DeleteWebhookButton id={h.id} url={h.url} />,
  },
];

export default async function WebhooksPage() {
  const hooks = await load((api) => api.listWebhooks());
  return (
    <>
      <PageHeader title="Webhooks">
        Signed POSTs to your systems when models, versions, deployments or alerts change. Each delivery is retried with
        backoff.
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
            <DataTable
              label="Webhooks"
              rows={hooks.data}
              rowKey={(h) => h.id}
              columns={WEBHOOK_COLUMNS}
              pageSize={50}
              empty="No webhooks yet."
            />
          </section>
        </>
      )}
    </>
  );
}
