import type { Metadata } from 'next';
import Link from 'next/link';
import type { TAlert, TAuditEntry, TRegisteredModel } from '@modelyard/contracts';
import { getMe, load, type Loaded } from '@/lib/api.server';
import { formatMs, formatPercent } from '@/lib/deployment-text';
import { formatCount, formatTime } from '@/lib/format';
import { servedSummary, type ServedSummary } from '@/lib/latency';
import { describeAudit } from '@/lib/audit-text';
import { ErrorAlert } from '@/components/alert';
import { DataTable, type Column } from '@/components/data-table';
import { Sparkline } from '@/components/charts';
import { DriftBadge } from '@/components/drift-badge';
import { PageHeader } from '@/components/page-header';

export const metadata: Metadata = { title: 'Overview' };

const DAY_MS = 86_400_000;
const SPARK_STEP_MS = 30 * 60_000;
/** The overview asks the API four questions per model: bounded, so a big registry does not stall the page. */
const MODELS_SHOWN = 50;
const CONCURRENCY = 8;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

interface ModelRow {
  model: TRegisteredModel;
  production: number | null;
  pinned: boolean;
  pilots: number[];
  silent: number[];
  traffic: Loaded<ServedSummary>;
  sloMs: number | null;
  drift: { status: 'ok' | 'warn' | 'drift'; silent: boolean; rows: number } | { status: 'none'; why: string };
}

async function modelRow(m: TRegisteredModel, from: string, to: string): Promise<ModelRow> {
  const [deployment, series, rules, drift] = await Promise.all([
    load((api) => api.getDeployment(m.name)),
    load((api) => api.metricSeries(m.name, { from, to })),
    load((api) => api.alertRules(m.name)),
    load((api) => api.driftLatest(m.name)),
  ]);
  const config = deployment.ok ? (deployment.data.current?.config ?? null) : null;
  const pinned = config?.production.mode === 'pinned';
  return {
    model: m,
    production: config?.production.mode === 'pinned' ? config.production.version : m.productionVersion,
    pinned,
    pilots: config?.pilots.map((p) => p.version) ?? [],
    silent: config?.silent.map((s) => s.version) ?? [],
    traffic: series.ok ? { ok: true, data: servedSummary(series.data, SPARK_STEP_MS) } : series,
    sloMs: rules.ok ? rules.data.latencySloMs : null,
    // 404 is the normal "no window yet" (no reference profile, or no logged predictions): not an error to show.
    drift: drift.ok
      ? drift.data.report
        ? { status: drift.data.report.status, silent: drift.data.silent, rows: drift.data.rows }
        : { status: 'none', why: 'the window has no report yet' }
      : {
          status: 'none',
          why: drift.status === 404 ? 'no reference profile or no logged predictions yet' : drift.message,
        },
  };
}

export default async function OverviewPage() {
  const me = await getMe();
  // The layout shows the error when /v1/me fails; nothing more to say here.
  if (!me.ok) return null;
  const isAdmin = me.data.role === 'admin';
  const to = new Date();
  const from = new Date(to.getTime() - DAY_MS);
  const [models, alerts, activity] = await Promise.all([
    load((api) => api.listModels({ limit: MODELS_SHOWN })),
    load((api) => api.listAlerts({ state: 'firing', limit: 500 })),
    // The audit log is for admins (the API refuses everyone else): others get no activity card.
    isAdmin ? load((api) => api.listAudit({ limit: 12 })) : null,
  ]);
  const rows = models.ok
    ? await mapLimit(models.data.items, CONCURRENCY, (m) => modelRow(m, from.toISOString(), to.toISOString()))
    : [];
  const firing = new Map<string, TAlert[]>();
  if (alerts.ok) for (const a of alerts.data) firing.set(a.model, [...(firing.get(a.model) ?? []), a]);

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
        {!alerts.ok ? <ErrorAlert message={`Cannot list alerts: ${alerts.message}`} /> : null}
        {!models.ok ? (
          <ErrorAlert message={models.message} />
        ) : rows.length === 0 ? (
          <p className="muted">
            No models yet. <Link href="/models">Register the first one</Link>.
          </p>
        ) : (
          <>
            <DataTable
              label="Models overview"
              rows={rows}
              rowKey={(r) => r.model.id}
              columns={overviewColumns(firing)}
              className="overview-table"
              empty="No models yet."
            />
            {models.data.nextCursor ? (
              <p className="hint">
                Showing the {rows.length} most recently updated models. <Link href="/models">See all models</Link>.
              </p>
            ) : null}
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

function overviewColumns(firing: Map<string, TAlert[]>): Column<ModelRow>[] {
  const alertsOf = (r: ModelRow) => firing.get(r.model.name) ?? [];
  const servedOf = (r: ModelRow) => alertsOf(r).filter((a) => !a.silent);
  const p99 = (r: ModelRow) => (r.traffic.ok ? r.traffic.data.p99Ms : null);
  return [
    {
      key: 'model',
      header: 'Model',
      rowHeader: true,
      sort: (r) => r.model.name,
      cell: (r) => (
        <Link className="strong-link" href={`/models/${encodeURIComponent(r.model.name)}`}>
          {r.model.name}
        </Link>
      ),
    },
    {
      key: 'production',
      header: 'Production',
      sort: (r) => r.production,
      cell: (r) => (
        <>
          {r.production !== null ? (
            <span className="badge badge-stage-production">v{r.production}</span>
          ) : (
            <span className="muted">none</span>
          )}
          {r.pinned ? <span className="muted small"> pinned</span> : null}
        </>
      ),
    },
    { key: 'pilots', header: 'Pilots', hideBelow: 'lg', cell: (r) => versions(r.pilots) ?? none },
    { key: 'silent', header: 'Silent', hideBelow: 'lg', cell: (r) => versions(r.silent) ?? none },
    {
      key: 'requests',
      header: 'Requests (24 h)',
      className: 'traffic-cell',
      sort: (r) => (r.traffic.ok ? r.traffic.data.count : null),
      cell: (r) => {
        const t = r.traffic;
        if (!t.ok) return <span className="error-inline">{t.message}</span>;
        const href = `/models/${encodeURIComponent(r.model.name)}/latency`;
        return (
          <div className="traffic">
            <Sparkline data={t.data.spark} label={`Requests to ${r.model.name} over the last 24 hours`} />
            <Link
              href={href}
              className="mono small"
              aria-label={`${formatCount(t.data.count)} requests: latency of ${r.model.name}`}
            >
              {formatCount(t.data.count)}
            </Link>
          </div>
        );
      },
    },
    {
      key: 'errors',
      header: 'Error rate',
      align: 'right',
      sort: (r) => (r.traffic.ok ? r.traffic.data.errorRate : null),
      cell: (r) => (r.traffic.ok ? formatPercent(r.traffic.data.errorRate, 2) : '—'),
    },
    {
      key: 'p99',
      header: 'p99 / SLO',
      align: 'right',
      nowrap: true,
      sort: p99,
      cell: (r) => {
        const ms = p99(r);
        const over = r.sloMs !== null && ms !== null && ms > r.sloMs;
        return (
          <span className={over ? 'text-danger' : undefined}>
            {r.traffic.ok ? formatMs(ms) : '—'}
            <span className="muted small"> / {r.sloMs !== null ? `${r.sloMs} ms` : '—'}</span>
          </span>
        );
      },
    },
    {
      key: 'drift',
      header: 'Drift',
      sort: (r) => r.drift.status,
      cell: (r) =>
        r.drift.status === 'none' ? (
          <span className="muted small" title={r.drift.why}>
            no data
          </span>
        ) : (
          <DriftBadge status={r.drift.status} />
        ),
    },
    {
      key: 'alerts',
      header: 'Alerts',
      sort: (r) => servedOf(r).length,
      cell: (r) => {
        const all = alertsOf(r);
        const served = servedOf(r);
        return (
          <>
            {served.length ? (
              <span className="badge badge-danger" title={served.map((a) => a.message).join('\n')}>
                {served.length} open
              </span>
            ) : (
              <span className="muted">none</span>
            )}
            {all.length > served.length ? (
              <span className="muted small"> +{all.length - served.length} silent</span>
            ) : null}
          </>
        );
      },
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
