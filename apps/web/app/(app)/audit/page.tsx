import type { Metadata } from 'next';
import Link from '@/components/project';
import type { TAuditEntry, TAuditQuery } from '@modelyard/contracts';
import { load, pageHref } from '@/lib/api.server';
import { AUDIT_ACTIONS } from '@/lib/audit-text';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { Field } from '@/components/form';
import { DataTable, Truncate, type Column } from '@/components/data-table';

export const metadata: Metadata = { title: 'Audit log' };

function summaryText(summary: unknown): string {
  if (summary === null || summary === undefined) return '';
  const text = typeof summary === 'string' ? summary : JSON.stringify(summary);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

const actorName = (e: TAuditEntry) => e.actor.name ?? e.actor.id ?? e.actor.kind;

const AUDIT_COLUMNS: Column<TAuditEntry>[] = [
  { key: 'time', header: 'Time', sort: (e) => e.at, nowrap: true, width: '10rem', cell: (e) => formatTime(e.at) },
  {
    key: 'actor',
    header: 'Actor',
    sort: actorName,
    cell: (e) => (
      <>
        {actorName(e)}
        {e.apiKeyId ? (
          <span className="badge badge-muted" title={`API key ${e.apiKeyId}`}>
            key
          </span>
        ) : null}
      </>
    ),
  },
  { key: 'action', header: 'Action', sort: (e) => e.action, nowrap: true, cell: (e) => <code>{e.action}</code> },
  {
    key: 'object',
    header: 'Object',
    sort: (e) => `${e.objectType} ${e.objectId ?? ''}`,
    cell: (e) => (
      <>
        {e.objectType}
        {e.objectId ? (
          <>
            {' '}
            <span className="muted small">
              <Truncate text={e.objectId} mono />
            </span>
          </>
        ) : null}
      </>
    ),
  },
  {
    key: 'ip',
    header: 'IP',
    sort: (e) => e.ip,
    hideBelow: 'lg',
    nowrap: true,
    className: 'mono small',
    cell: (e) => e.ip ?? '—',
  },
  {
    key: 'details',
    header: 'Details',
    className: 'mono small summary',
    cell: (e) => summaryText(e.summary),
  },
];

const OBJECT_TYPES = [
  'user',
  'serviceAccount',
  'group',
  'apiKey',
  'model',
  'modelVersion',
  'approval',
  'job',
  'schedule',
  'webhook',
];
const FILTERS = ['actor', 'action', 'objectType', 'objectId', 'from', 'to'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim() ?? '';
/** A datetime-local value (`YYYY-MM-DDTHH:MM`) is read as UTC, like every time the dashboard shows. */
const utcIso = (v: string) => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v) ? `${v}:00Z` : undefined);

export default async function AuditPage({ searchParams }: PageProps<'/audit'>) {
  const sp = await searchParams;
  const f = Object.fromEntries(FILTERS.map((k) => [k, one(sp[k])])) as Filters;
  const cursor = one(sp.cursor) || undefined;
  const query: Partial<TAuditQuery> = {
    limit: 100,
    cursor,
    actorId: f.actor || undefined,
    action: f.action || undefined,
    objectType: f.objectType || undefined,
    objectId: f.objectId || undefined,
    from: utcIso(f.from),
    to: utcIso(f.to),
  };
  const [page, users, accounts] = await Promise.all([
    load((api) => api.listAudit(query)),
    load((api) => api.listUsers({ limit: 500 })),
    load((api) => api.listServiceAccounts()),
  ]);
  const filtered = FILTERS.some((k) => f[k] !== '');
  const params = new URLSearchParams(Object.entries(f).filter(([, v]) => v !== ''));
  const nextHref =
    page.ok && page.data.nextCursor
      ? `/audit?${new URLSearchParams([...params, ['cursor', page.data.nextCursor]])}`
      : null;

  return (
    <>
      <PageHeader title="Audit log">Who changed what, most recent first.</PageHeader>
      {page.ok || page.status !== 403 ? (
        <section className="card">
          <form
            className="form-grid filter-grid"
            method="get"
            action={await pageHref('/audit')}
            aria-label="Filter the audit log"
          >
            <Field id="audit-actor" label="Actor">
              <select name="actor" defaultValue={f.actor}>
                <option value="">Anyone</option>
                {users.ok ? (
                  <optgroup label="Users">
                    {users.data.items.map((u) => (
                      <option key={u.id} value={u.id}>
                        {u.email}
                      </option>
                    ))}
                  </optgroup>
                ) : null}
                {accounts.ok ? (
                  <optgroup label="Service accounts">
                    {accounts.data.map((s) => (
                      <option key={s.id} value={s.id}>
                        {s.name}
                      </option>
                    ))}
                  </optgroup>
                ) : null}
              </select>
            </Field>
            <Field id="audit-action" label="Action">
              <input
                name="action"
                type="text"
                defaultValue={f.action}
                placeholder="deployment.changed"
                maxLength={64}
                autoComplete="off"
                list="audit-actions"
              />
            </Field>
            <datalist id="audit-actions">
              {AUDIT_ACTIONS.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
            <Field id="audit-object-type" label="Object type">
              <select name="objectType" defaultValue={f.objectType}>
                <option value="">Any</option>
                {OBJECT_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="audit-object-id" label="Object id">
              <input name="objectId" type="text" defaultValue={f.objectId} maxLength={128} autoComplete="off" />
            </Field>
            <Field id="audit-from" label="From (UTC)">
              <input name="from" type="datetime-local" defaultValue={f.from} />
            </Field>
            <Field id="audit-to" label="To (UTC)">
              <input name="to" type="datetime-local" defaultValue={f.to} />
            </Field>
            <div className="form-actions">
              <button type="submit" className="btn btn-primary">
                Filter
              </button>
              {filtered ? (
                <Link href="/audit" className="btn btn-secondary">
                  Clear
                </Link>
              ) : null}
            </div>
          </form>
        </section>
      ) : null}
      {!page.ok ? (
        <ErrorAlert message={page.message} />
      ) : (
        <section className="card">
          <DataTable
            label="Audit log entries"
            rows={page.data.items}
            rowKey={(e) => e.id}
            columns={AUDIT_COLUMNS}
            empty={filtered ? 'No entries match these filters.' : 'No entries yet.'}
            cursor={{
              nextHref,
              nextLabel: 'Older entries',
              firstHref: cursor ? `/audit?${params}` : null,
              summary: `Showing ${page.data.items.length} entries.`,
            }}
          />
        </section>
      )}
    </>
  );
}
