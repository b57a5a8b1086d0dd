import type { Metadata } from 'next';
import Link from '@/components/project';
import type { TWebhookDelivery } from '@modelyard/contracts';
import { load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { AutoRefresh } from '@/components/auto-refresh';
import { DataTable, Truncate, type Column } from '@/components/data-table';

export const metadata: Metadata = { title: 'Webhook deliveries' };

const STATUS_CLASS: Record<TWebhookDelivery['status'], string> = {
  pending: 'badge-job-running',
  succeeded: 'badge-ok',
  failed: 'badge-danger',
};

const DELIVERY_COLUMNS: Column<TWebhookDelivery>[] = [
  {
    key: 'event',
    header: 'Event',
    sort: (d) => d.event,
    rowHeader: true,
    cell: (d) => (
      <>
        <code>{d.event}</code>
        <div className="muted small">
          <Truncate text={d.eventId} mono />
        </div>
      </>
    ),
  },
  {
    key: 'status',
    header: 'Status',
    sort: (d) => d.status,
    nowrap: true,
    cell: (d) => <span className={`badge ${STATUS_CLASS[d.status]}`}>{d.status}</span>,
  },
  { key: 'attempts', header: 'Attempts', align: 'right', sort: (d) => d.attempts, cell: (d) => d.attempts },
  {
    key: 'response',
    header: 'Response',
    sort: (d) => d.responseStatus,
    cell: (d) => (
      <>
        {d.responseStatus !== null ? (
          <span className="mono">HTTP {d.responseStatus}</span>
        ) : (
          <span className="muted">—</span>
        )}
        {d.lastError ? <div className="small text-danger">{d.lastError}</div> : null}
      </>
    ),
  },
  { key: 'created', header: 'Created', sort: (d) => d.createdAt, nowrap: true, cell: (d) => formatTime(d.createdAt) },
  {
    key: 'last',
    header: 'Last attempt',
    sort: (d) => d.lastAttemptAt,
    nowrap: true,
    hideBelow: 'md',
    cell: (d) => formatTime(d.lastAttemptAt),
  },
];

/** One webhook and its delivery log, newest first; refreshes while a delivery is still being attempted. */
export default async function WebhookPage({ params }: PageProps<'/webhooks/[id]'>) {
  const { id } = await params;
  // There is no GET of one webhook: the list is short (admins only) and says everything about it.
  const [hooks, deliveries] = await Promise.all([
    load((api) => api.listWebhooks()),
    load((api) => api.webhookDeliveries(id)),
  ]);
  const hook = hooks.ok ? (hooks.data.find((h) => h.id === id) ?? null) : null;
  return (
    <>
      <div className="page-header">
        <p className="breadcrumb">
          <Link href="/webhooks">Webhooks</Link> /
        </p>
        <h1>Deliveries</h1>
        {hook ? (
          <p className="muted break">
            To <span className="mono">{hook.url}</span>
            {hook.description ? ` · ${hook.description}` : ''}
          </p>
        ) : null}
      </div>
      {!hooks.ok ? (
        <ErrorAlert message={hooks.message} />
      ) : !hook ? (
        <ErrorAlert message={`Webhook ${id} not found`} />
      ) : null}
      {!deliveries.ok ? (
        <ErrorAlert message={deliveries.message} />
      ) : (
        <section className="card">
          <AutoRefresh active={deliveries.data.some((d) => d.status === 'pending')} />
          <DataTable
            label="Deliveries, newest first"
            rows={deliveries.data}
            rowKey={(d) => d.id}
            columns={DELIVERY_COLUMNS}
            pageSize={50}
            empty="No deliveries yet: one is made for each subscribed event."
          />
        </section>
      )}
    </>
  );
}
