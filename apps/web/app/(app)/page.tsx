import type { Metadata } from 'next';
import Link from '@/components/project';
import type { TAuditEntry, TModelOverview, TOverviewPage } from '@modelyard/contracts';
import { getMe, load } from '@/lib/api.server';
import { formatMs, formatPercent } from '@/lib/deployment-text';
import { formatCount, formatTime } from '@/lib/format';
import { overviewSortOf, SORT_LABELS, sparkOf } from '@/lib/overview';
import { describeAudit } from '@/lib/audit-text';
import { ErrorAlert } from '@/components/alert';
import { DataTable, type Column } from '@/components/data-table';
import { Sparkline } from '@/components/sparkline';
import { DriftBadge } from '@/components/drift-badge';
import { PageHeader } from '@/components/page-header';
import { SortLinks } from '@/components/sort-links';

export const metadata: Metadata = { title: 'Overview' };

/** One API call for the whole page (`GET /v1/overview`: one aggregated query), whatever the registry's size. */
const PAGE_SIZE = 50;
/** 24 h in 30-minute steps: aligned to the half hour, 49 of them cover any 24 h. */
const SPARK_POINTS = 49;

function first(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
}

export default async function OverviewPage({ searchParams }: PageProps<'/'>) {
  const params = await searchParams;
  const cursor = first(params.cursor);
  const sort = overviewSortOf(first(params.sort));
  // Asked for at once, not after /v1/me: the models do not depend on the role, and each round trip to the API is
  // time the page waits for before its first byte.
  const modelsLoad = load((api) =>
    api.overview({ limit: PAGE_SIZE, cursor: cursor || undefined, sort, points: SPARK_POINTS }),
  );
  // Not awaited when /v1/me fails: its sign-in redirect (a throw) is then /v1/me's to make, not an unhandled one.
  modelsLoad.catch(() => {});
  const me = await getMe();
  // The layout shows the error when /v1/me fails; nothing more to say here.
  if (!me.ok) return null;
  const isAdmin = me.data.role === 'admin';
  const [models, activity] = await Promise.all([
    modelsLoad,
    // The audit log is for admins (the API refuses everyone else): others get no activity card.
    isAdmin ? load((api) => api.listAudit({ limit: 12 })) : null,
  ]);
  const sortQuery: Record<string, string> = sort === 'updated' ? {} : { sort };

  return (
    <>
      <PageHeader title="Overview">
        Every model at a glance: what serves, how it answered over the last 24 hours, drift and open alerts.
      </PageHeader>
      <section className="card" aria-labelledby="overview-models-title">
        <div className="card-head">
          <h2 id="overview-models-title">Models</h2>
          <Link href="/models" className="small">
            All models
          </Link>
        </div>
        {!models.ok ? (
          <ErrorAlert message={models.message} />
        ) : models.data.items.length === 0 && !cursor ? (
          <p className="muted">
            No models yet. <Link href="/models">Register the first one</Link>.
          </p>
        ) : (
          <>
            <SortLinks
              label="Order of the models"
              options={SORT_LABELS}
              current={sort}
              href={(s) => (s === 'updated' ? '/' : `/?sort=${s}`)}
            />
            <DataTable
              label="Models overview"
              rows={models.data.items}
              rowKey={(r) => r.id}
              columns={overviewColumns(models.data)}
              className="overview-table"
              empty="No more models."
              cursor={{
                firstHref: cursor ? `/?${new URLSearchParams(sortQuery)}` : null,
                nextHref: models.data.nextCursor
                  ? `/?${new URLSearchParams({ ...sortQuery, cursor: models.data.nextCursor })}`
                  : null,
                summary: `${models.data.items.length} models on this page.`,
              }}
            />
          </>
        )}
      </section>
      {activity ? (
        <section className="card" aria-labelledby="activity-title">
          <div className="card-head">
            <h2 id="activity-title">Recent activity</h2>
            <Link href="/audit" className="small">
              Audit log
            </Link>
          </div>
          {!activity.ok ? (
            <ErrorAlert message={activity.message} />
          ) : activity.data.items.length === 0 ? (
            <p className="muted">Nothing has happened yet.</p>
          ) : (
            <ActivityList entries={activity.data.items} />
          )}
        </section>
      ) : null}
    </>
  );
}

const versions = (list: number[]) => (list.length ? list.map((v) => `v${v}`).join(', ') : null);

const none = <span className="muted">—</span>;

type Row = TModelOverview;

function overviewColumns(page: TOverviewPage): Column<Row>[] {
  return [
    {
      key: 'model',
      header: 'Model',
      rowHeader: true,
      sort: (r) => r.name,
      cell: (r) => (
        <Link className="strong-link" href={`/models/${encodeURIComponent(r.name)}`}>
          {r.name}
        </Link>
      ),
    },
    {
      key: 'production',
      header: 'Production',
      sort: (r) => r.serving.production,
      cell: (r) => (
        <>
          {r.serving.production !== null ? (
            <span className="badge badge-stage-production">v{r.serving.production}</span>
          ) : (
            <span className="muted">none</span>
          )}
          {r.serving.pinned ? <span className="muted small"> pinned</span> : null}
        </>
      ),
    },
    { key: 'pilots', header: 'Pilots', hideBelow: 'lg', cell: (r) => versions(r.serving.pilots) ?? none },
    { key: 'silent', header: 'Silent', hideBelow: 'lg', cell: (r) => versions(r.serving.silent) ?? none },
    {
      key: 'requests',
      header: 'Requests (24 h)',
      className: 'traffic-cell',
      sort: (r) => r.traffic.count,
      cell: (r) => {
        const href = `/models/${encodeURIComponent(r.name)}/latency`;
        return (
          <div className="traffic">
            <Sparkline data={sparkOf(page, r)} label={`Requests to ${r.name} over the last 24 hours`} />
            <Link
              href={href}
              className="mono small"
              aria-label={`${formatCount(r.traffic.count)} requests: latency of ${r.name}`}
            >
              {formatCount(r.traffic.count)}
            </Link>
          </div>
        );
      },
    },
    {
      key: 'errors',
      header: 'Error rate',
      align: 'right',
      sort: (r) => r.traffic.errorRate,
      cell: (r) => formatPercent(r.traffic.errorRate, 2),
    },
    {
      key: 'p99',
      header: 'p99 / SLO',
      align: 'right',
      nowrap: true,
      sort: (r) => r.traffic.p99Ms,
      cell: (r) => {
        const ms = r.traffic.p99Ms;
        const over = ms !== null && ms > r.latencySloMs;
        return (
          <span className={over ? 'text-danger' : undefined}>
            {formatMs(ms)}
            <span className="muted small"> / {r.latencySloMs} ms</span>
          </span>
        );
      },
    },
    {
      key: 'drift',
      header: 'Drift',
      sort: (r) => r.drift?.status ?? 'none',
      cell: (r) =>
        r.drift?.status ? (
          <DriftBadge status={r.drift.status} />
        ) : (
          <span
            className="muted small"
            title={r.drift ? 'the window has no report yet' : 'no reference profile or no logged predictions yet'}
          >
            no data
          </span>
        ),
    },
    {
      key: 'alerts',
      header: 'Alerts',
      sort: (r) => r.alerts.firing,
      cell: (r) => (
        <>
          {r.alerts.firing ? (
            <span className="badge badge-danger" title={r.alerts.messages.join('\n')}>
              {r.alerts.firing} open
            </span>
          ) : (
            <span className="muted">none</span>
          )}
          {r.alerts.silent ? <span className="muted small"> +{r.alerts.silent} silent</span> : null}
        </>
      ),
    },
  ];
}

function ActivityList({ entries }: { entries: TAuditEntry[] }) {
  return (
    <ol className="activity" aria-label="Recent activity, newest first">
      {entries.map((e) => (
        <li key={e.id}>
          <span className="activity-what">
            <strong>{e.actor.name ?? e.actor.kind}</strong> {describeAudit(e)}
          </span>
          <time className="muted small nowrap" dateTime={e.at}>
            {formatTime(e.at)}
          </time>
        </li>
      ))}
    </ol>
  );
}
