import type { Metadata } from 'next';
import Link from 'next/link';
import type { TWebhookDelivery } from '@modelyard/contracts';
import { load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { AutoRefresh } from '@/components/auto-refresh';

export const metadata: Metadata = { title: 'Webhook deliveries' };

const STATUS_CLASS: Record<TWebhookDelivery['status'], string> = { pending: 'badge-job-running', succeeded: 'badge-ok', failed: 'badge-danger' };

/** One webhook and its delivery log, newest first; refreshes while a delivery is still being attempted. */
export default async function WebhookPage({ params }: PageProps<'/webhooks/[id]'>) {
  const { id } = await params;
  // There is no GET of one webhook: the list is short (admins only) and says everything about it.
  const [hooks, deliveries] = await Promise.all([
    load((api) => api.listWebhooks()),
    load((api) => api.webhookDeliveries(id)),
  ]);
  const hook = hooks.ok ? hooks.data.find((h) => h.id === id) ?? null : null;
  return (
    <>
      <div className="page-header">
        <p className="breadcrumb"><Link href="/webhooks">Webhooks</Link> /</p>
        <h1>Deliveries</h1>
        {hook ? <p className="muted break">To <span className="mono">{hook.url}</span>{hook.description ? ` · ${hook.description}` : ''}</p> : null}
      </div>
      {!hooks.ok ? <ErrorAlert message={hooks.message} /> : !hook ? <ErrorAlert message={`Webhook ${id} not found`} /> : null}
      {!deliveries.ok ? (
        <ErrorAlert message={deliveries.message} />
      ) : (
        <section className="card">
          <AutoRefresh active={deliveries.data.some((d) => d.status === 'pending')} />
          {deliveries.data.length === 0 ? (
            <p className="muted">No deliveries yet: one is made for each subscribed event.</p>
          ) : (
            <div className="table-scroll">
              <table className="table" aria-label="Deliveries, newest first">
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Status</th>
                    <th scope="col" className="num">Attempts</th>
                    <th scope="col">Response</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last attempt</th>
                  </tr>
                </thead>
                <tbody>
                  {deliveries.data.map((d) => (
                    <tr key={d.id}>
                      <th scope="row" className="row-title">
                        <code>{d.event}</code>
                        <div className="muted small mono">{d.eventId}</div>
                      </th>
                      <td><span className={`badge ${STATUS_CLASS[d.status]}`}>{d.status}</span></td>
                      <td className="num">{d.attempts}</td>
                      <td>
                        {d.responseStatus !== null ? <span className="mono">HTTP {d.responseStatus}</span> : <span className="muted">—</span>}
                        {d.lastError ? <div className="small text-danger break">{d.lastError}</div> : null}
                      </td>
                      <td className="nowrap">{formatTime(d.createdAt)}</td>
                      <td className="nowrap">{formatTime(d.lastAttemptAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
    </>
  );
}
