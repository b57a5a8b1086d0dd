import type { Metadata } from 'next';
import Link from 'next/link';
import type { TAlert, TAuditEntry, TRegisteredModel } from '@modelyard/contracts';
import { getMe, load, type Loaded } from '@/lib/api.server';
import { formatMs, formatPercent } from '@/lib/deployment-text';
import { formatCount, formatTime } from '@/lib/format';
import { servedSummary, type ServedSummary } from '@/lib/latency';
import { describeAudit } from '@/lib/audit-text';
import { ErrorAlert } from '@/components/alert';
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
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
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
  const config = deployment.ok ? deployment.data.current?.config ?? null : null;
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
      : { status: 'none', why: drift.status === 404 ? 'no reference profile or no logged predictions yet' : drift.message },
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
  const rows = models.ok ? await mapLimit(models.data.items, CONCURRENCY, (m) => modelRow(m, from.toISOString(), to.toISOString())) : [];
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
          <Link href="/models" className="small">All models</Link>
        </div>
        {!alerts.ok ? <ErrorAlert message={`Cannot list alerts: ${alerts.message}`} /> : null}
        {!models.ok ? (
          <ErrorAlert message={models.message} />
        ) : rows.length === 0 ? (
          <p className="muted">No models yet. <Link href="/models">Register the first one</Link>.</p>
        ) : (
          <>
            <div className="table-scroll">
              <table className="table overview-table" aria-label="Models overview">
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Production</th>
                    <th scope="col">Pilots</th>
                    <th scope="col">Silent</th>
                    <th scope="col">Requests (24 h)</th>
                    <th scope="col" className="num">Error rate</th>
                    <th scope="col" className="num">p99 / SLO</th>
                    <th scope="col">Drift</th>
                    <th scope="col">Alerts</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => <OverviewRow key={r.model.id} row={r} alerts={firing.get(r.model.name) ?? []} />)}
                </tbody>
              </table>
            </div>
            {models.data.nextCursor ? (
              <p className="hint">Showing the {rows.length} most recently updated models. <Link href="/models">See all models</Link>.</p>
            ) : null}
          </>
        )}
      </section>
      {activity ? (
        <section className="card" aria-labelledby="activity-title">
          <div className="card-head">
            <h2 id="activity-title">Recent activity</h2>
            <Link href="/audit" className="small">Audit log</Link>
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

function OverviewRow({ row: r, alerts }: { row: ModelRow; alerts: TAlert[] }) {
  const href = `/models/${encodeURIComponent(r.model.name)}`;
  const t = r.traffic;
  const overSlo = t.ok && r.sloMs !== null && t.data.p99Ms !== null && t.data.p99Ms > r.sloMs;
  const served = alerts.filter((a) => !a.silent);
  return (
    <tr>
      <th scope="row" className="row-title"><Link className="strong-link" href={href}>{r.model.name}</Link></th>
      <td>
        {r.production !== null ? <span className="badge badge-stage-production">v{r.production}</span> : <span className="muted">none</span>}
        {r.pinned ? <span className="muted small"> pinned</span> : null}
      </td>
      <td>{versions(r.pilots) ?? <span className="muted">—</span>}</td>
      <td>{versions(r.silent) ?? <span className="muted">—</span>}</td>
      <td className="traffic-cell">
        {!t.ok ? (
          <span className="error-inline">{t.message}</span>
        ) : (
          <div className="traffic">
            <Sparkline data={t.data.spark} label={`Requests to ${r.model.name} over the last 24 hours`} />
            <Link href={`${href}/latency`} className="mono small" aria-label={`${formatCount(t.data.count)} requests: latency of ${r.model.name}`}>
              {formatCount(t.data.count)}
            </Link>
          </div>
        )}
      </td>
      <td className="num">{t.ok ? formatPercent(t.data.errorRate, 2) : '—'}</td>
      <td className={`num nowrap${overSlo ? ' text-danger' : ''}`}>
        {t.ok ? formatMs(t.data.p99Ms) : '—'}
        <span className="muted small"> / {r.sloMs !== null ? `${r.sloMs} ms` : '—'}</span>
      </td>
      <td>
        {r.drift.status === 'none'
          ? <span className="muted small" title={r.drift.why}>no data</span>
          : <DriftBadge status={r.drift.status} />}
      </td>
      <td>
        {served.length ? (
          <span className="badge badge-danger" title={served.map((a) => a.message).join('\n')}>{served.length} open</span>
        ) : <span className="muted">none</span>}
        {alerts.length > served.length ? <span className="muted small"> +{alerts.length - served.length} silent</span> : null}
      </td>
    </tr>
  );
}

function ActivityList({ entries }: { entries: TAuditEntry[] }) {
  return (
    <ol className="activity" aria-label="Recent activity, newest first">
      {entries.map((e) => (
        <li key={e.id}>
          <span className="activity-what">
            <strong>{e.actor.name ?? e.actor.kind}</strong> {describeAudit(e)}
          </span>
          <time className="muted small nowrap" dateTime={e.at}>{formatTime(e.at)}</time>
        </li>
      ))}
    </ol>
  );
}
