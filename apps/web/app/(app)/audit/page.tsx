import type { Metadata } from 'next';
import { load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';

export const metadata: Metadata = { title: 'Audit log' };

function summaryText(summary: unknown): string {
  if (summary === null || summary === undefined) return '';
  const text = typeof summary === 'string' ? summary : JSON.stringify(summary);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

export default async function AuditPage() {
  const page = await load((api) => api.listAudit({ limit: 100 }));
  return (
    <>
      <PageHeader title="Audit log">Who changed what, most recent first.</PageHeader>
      {!page.ok ? (
        <ErrorAlert message={page.message} />
      ) : page.data.items.length === 0 ? (
        <section className="card empty-state"><p className="muted">No entries yet.</p></section>
      ) : (
        <section className="card">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Object</th>
                <th scope="col">IP</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((e) => (
                <tr key={e.id}>
                  <td className="nowrap">{formatTime(e.at)}</td>
                  <td className="nowrap">
                    {e.actor.name ?? e.actor.id ?? e.actor.kind}
                    {e.apiKeyId ? <span className="badge badge-muted" title={`API key ${e.apiKeyId}`}>key</span> : null}
                  </td>
                  <td><code>{e.action}</code></td>
                  <td>
                    {e.objectType}
                    {e.objectId ? <span className="muted small mono"> {e.objectId}</span> : null}
                  </td>
                  <td className="mono small">{e.ip ?? '—'}</td>
                  <td className="mono small summary">{summaryText(e.summary)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.data.nextCursor ? <p className="muted">Showing the {page.data.items.length} most recent entries.</p> : null}
        </section>
      )}
    </>
  );
}
