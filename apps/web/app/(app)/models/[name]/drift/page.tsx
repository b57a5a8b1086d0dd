import type { Metadata } from 'next';
import Link from '@/components/project';
import type {
  ModelyardClient,
  TAlert,
  TAlertRules,
  TDriftProfile,
  TDriftSeries,
  TDriftStatus,
  TDriftWindowReport,
} from '@modelyard/contracts';
import { getMe, load, type Loaded, pageHref as projectHref } from '@/lib/api.server';
import { formatCount, formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { AutoRefresh } from '@/components/auto-refresh';
import { DataTable, Truncate, type Column } from '@/components/data-table';
import { Field } from '@/components/form';
import { RefreshButton } from '../deployment/deployment-controls';
import { AlertRulesEditor } from './alert-rules-editor';
import { DistanceChart, HistogramChart, PValueChart, type HistogramBin, type SeriesPoint } from './drift-charts';
import { DetailHeading, RebuildProfileButton } from './drift-controls';
import { DriftHeatmap, DriftStatusBadge } from './drift-heatmap';
import {
  DEFAULT_DAYS,
  RANGES,
  RULE_KIND_LABELS,
  STATUS_TEXT,
  alertFigure,
  binLabels,
  describeRule,
  driftAbilities,
  formatPValue,
  formatStat,
  percent,
  windowLabel,
} from './drift-text';
import './drift.css';

type THistogram = Awaited<ReturnType<ModelyardClient['driftHistogram']>>;

export async function generateMetadata({ params }: PageProps<'/models/[name]/drift'>): Promise<Metadata> {
  return { title: `${(await params).name}: drift` };
}

const none = <span className="muted">—</span>;
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim() ?? '';

export default async function DriftPage({ params, searchParams }: PageProps<'/models/[name]/drift'>) {
  const { name } = await params;
  const q = await searchParams;
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const { canWrite } = driftAbilities(me.data.role);

  const askedVersion = Number(first(q.version)) || undefined;
  const days = RANGES.find((r) => String(r.days) === first(q.days))?.days ?? DEFAULT_DAYS;
  const column = first(q.column) || null;
  const start = first(q.start) || null;
  const to = new Date();
  const from = new Date(to.getTime() - days * 86_400_000);

  // The series first: without a version in the URL the API picks it (production, else the newest profiled).
  const [series, versions, rules, alerts] = await Promise.all([
    load((api) => api.driftSeries(name, { version: askedVersion, from: from.toISOString(), to: to.toISOString() })),
    load((api) => api.listVersions(name)),
    load((api) => api.alertRules(name)),
    load((api) => api.listAlerts({ model: name, limit: 50 })),
  ]);
  const version = series.ok ? series.data.version : askedVersion;
  const [latest, profile, histogram] = await Promise.all([
    version ? load((api) => api.driftLatest(name, version)) : null,
    version ? load((api) => api.driftProfile(name, version)) : null,
    version && column
      ? load((api) => api.driftHistogram(name, { column, version, ...(start ? { start } : {}) }))
      : null,
  ]);

  const modelHref = `/models/${encodeURIComponent(name)}`;
  const pageHref = (o: { column?: string; start?: string }) => {
    const sp = new URLSearchParams();
    if (version) sp.set('version', String(version));
    if (days !== DEFAULT_DAYS) sp.set('days', String(days));
    if (o.column) sp.set('column', o.column);
    if (o.start) sp.set('start', o.start);
    return `${modelHref}/drift?${sp}`;
  };

  const header = (
    <div className="page-header">
      <p className="breadcrumb">
        <Link href="/models">Models</Link> / <Link href={modelHref}>{name}</Link> /
      </p>
      <h1>Drift</h1>
      <p className="muted">
        How the inputs {name} receives (and the answers it gives) compare with the version&apos;s reference data, window
        by window, and the alerts that watch them.
      </p>
    </div>
  );
  if (!series.ok) {
    return (
      <>
        {header}
        <ErrorAlert message={series.message} />
        <p>
          <Link href={series.status === 404 && !versions.ok ? '/models' : modelHref}>Back</Link>
        </p>
      </>
    );
  }
  const s = series.data;
  const versionList = versions.ok ? [...versions.data].sort((a, b) => b.version - a.version) : [];
  const thresholds = latest?.ok ? (latest.data.report?.thresholds ?? null) : null;

  return (
    <>
      <AutoRefresh active={profile?.ok === true && profile.data.status === 'building'} />
      {header}

      <section className="card" aria-label="What to show">
        <form
          className="inline-form filter-form"
          action={await projectHref(`${modelHref}/drift`)}
          aria-label="Version and range"
        >
          <Field id="drift-version" label="Version" size="inline">
            <select name="version" defaultValue={String(s.version)}>
              {versionList.length === 0 ? <option value={s.version}>Version {s.version}</option> : null}
              {versionList.map((v) => (
                <option key={v.version} value={v.version}>
                  Version {v.version}
                  {v.stage !== 'None' ? ` (${v.stage})` : ''}
                  {v.status !== 'ready' ? ` – ${v.status}` : ''}
                </option>
              ))}
            </select>
          </Field>
          <Field id="drift-days" label="Range" size="inline">
            <select name="days" defaultValue={String(days)}>
              {RANGES.map((r) => (
                <option key={r.days} value={r.days}>
                  {r.label}
                </option>
              ))}
            </select>
          </Field>
          <button type="submit" className="btn btn-secondary">
            Show
          </button>
          <RefreshButton label="Refresh" />
        </form>
        {!versions.ok ? <ErrorAlert message={`Cannot list versions: ${versions.message}`} /> : null}
        <ProfileState model={name} version={s.version} profile={profile} canWrite={canWrite} />
      </section>

      <section className="card" aria-labelledby="latest-title">
        <h2 id="latest-title">Latest window</h2>
        <LatestSummary latest={latest} />
      </section>

      <section className="card" aria-labelledby="heatmap-title">
        <div className="card-head">
          <h2 id="heatmap-title">By column and window</h2>
          <span className="small muted">
            {RANGES.find((r) => r.days === days)?.label}, version {s.version}
          </span>
        </div>
        {s.features.length === 0 && s.outputs.length === 0 ? (
          <p className="muted empty-state">No reference profile yet: there is nothing to compare the traffic with.</p>
        ) : s.windows.length === 0 ? (
          <p className="muted empty-state">
            No traffic in this range: no prediction of version {s.version} was logged between{' '}
            {formatTime(from.toISOString())} and {formatTime(to.toISOString())}.
          </p>
        ) : (
          <>
            <p className="hint drift-legend">
              Each cell is one column in one window: <span className="drift-swatch drift-cell-ok">ok</span>
              <span className="drift-swatch drift-cell-warn">warn</span>{' '}
              <span className="drift-swatch drift-cell-drift">drift</span>, with its PSI. Choose a cell or a column name
              to see its histogram and its metrics over time.
            </p>
            <DriftHeatmap
              series={s}
              hrefFor={(c, st) => pageHref({ column: c, start: st })}
              selected={{ column, start: histogram?.ok ? histogram.data.start : start }}
            />
          </>
        )}
      </section>

      {column ? (
        <ColumnDetail
          column={column}
          series={s}
          histogram={histogram}
          thresholds={thresholds}
          closeHref={pageHref({})}
        />
      ) : null}

      <section className="card" aria-labelledby="rules-title">
        <h2 id="rules-title">Alert rules</h2>
        {!rules.ok ? (
          <ErrorAlert message={rules.message} />
        ) : (
          <>
            <p className="muted small">
              Rules apply to every version of {name}. Drift rules look at each version&apos;s latest window with enough
              rows; latency and error rules at the last minutes of traffic.
              {rules.data.updatedAt
                ? ` Last changed by ${rules.data.updatedBy ?? 'someone'}, ${formatTime(rules.data.updatedAt)}.`
                : ''}
            </p>
            {canWrite ? (
              // Keyed on the model, not on the rules' updatedAt: after a save the editor holds the API's answer
              // already, and a remount would drop its "Saved" notice.
              <AlertRulesEditor key={name} model={name} rules={rules.data} features={s.features} />
            ) : (
              <>
                <p className="hint" id="rules-readonly">
                  Only scientists and above can change alert rules; you are signed in as a {me.data.role}.
                </p>
                <RulesTable rules={rules.data} />
              </>
            )}
          </>
        )}
      </section>

      <section className="card" aria-labelledby="alerts-title">
        <h2 id="alerts-title">Alerts</h2>
        {!alerts.ok ? (
          <ErrorAlert message={alerts.message} />
        ) : alerts.data.length === 0 ? (
          <p className="muted empty-state">No alerts for {name}: no rule has fired.</p>
        ) : (
          <AlertsTable alerts={alerts.data} />
        )}
      </section>
    </>
  );
}

function ProfileState(p: { model: string; version: number; profile: Loaded<TDriftProfile> | null; canWrite: boolean }) {
  if (!p.profile) return null;
  if (!p.profile.ok) {
    return (
      <div className="notice notice-warn drift-profile-state" role="status">
        <p>
          No reference profile yet for version {p.version}: {p.profile.message}
        </p>
      </div>
    );
  }
  const pr = p.profile.data;
  if (pr.status === 'building') {
    return (
      <div className="notice drift-profile-state" role="status">
        <p>The reference profile of version {p.version} is being built; this page updates when it is ready.</p>
      </div>
    );
  }
  if (pr.status === 'failed') {
    return (
      <div className="notice notice-error drift-profile-state" role="alert">
        <p>
          The reference profile of version {p.version} could not be built: {pr.error ?? 'no reason given'}
        </p>
        {p.canWrite ? <RebuildProfileButton model={p.model} version={p.version} /> : null}
      </div>
    );
  }
  return (
    <p className="hint drift-profile-state">
      Reference profile of version {p.version}: {formatCount(pr.rows)} rows, {pr.features.length} features and{' '}
      {pr.outputs.length} outputs, built {formatTime(pr.updatedAt)}.
    </p>
  );
}

function LatestSummary({ latest }: { latest: Loaded<TDriftWindowReport> | null }) {
  if (!latest) return null;
  if (!latest.ok) return <p className="muted empty-state">{latest.message}</p>;
  const w = latest.data;
  const r = w.report;
  if (!r)
    return (
      <p className="muted empty-state">
        The window from {formatTime(w.start)} has {formatCount(w.rows)} rows but no report yet.
      </p>
    );
  const notOk = [...r.features, ...r.outputs].filter((c) => c.status !== 'ok');
  return (
    <div className="drift-latest">
      <dl className="facts">
        <div>
          <dt>Status</dt>
          <dd>
            <DriftStatusBadge status={r.status} />
          </dd>
        </div>
        <div>
          <dt>Window</dt>
          <dd>
            {formatTime(w.start)} to {formatTime(w.end)}
            {w.silent ? ' (silent traffic only)' : ''}
          </dd>
        </div>
        <div>
          <dt>Rows</dt>
          <dd>{formatCount(w.rows)}</dd>
        </div>
        <div>
          <dt>Drift share</dt>
          <dd>
            {percent(r.driftShare)} ({r.driftedFeatures} of {r.evaluatedFeatures} features; dataset drift at{' '}
            {percent(r.thresholds.driftShare)})
          </dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>{formatTime(w.updatedAt)}</dd>
        </div>
      </dl>
      <p className="drift-latest-columns">
        {notOk.length === 0 ? (
          'Every column is ok.'
        ) : (
          <>
            Not ok:{' '}
            {notOk.map((c, i) => (
              <span key={c.name}>
                {i ? ', ' : ''}
                <span className="mono">{c.name}</span> <DriftStatusBadge status={c.status} />
              </span>
            ))}
          </>
        )}
      </p>
    </div>
  );
}

function ColumnDetail(p: {
  column: string;
  series: TDriftSeries;
  histogram: Loaded<THistogram> | null;
  thresholds: { psi: { warn: number; drift: number }; js: number; pValue: number } | null;
  closeHref: string;
}) {
  const points: (SeriesPoint & { start: string; status: TDriftStatus | null })[] = p.series.windows.map((w) => {
    const c = w.columns[p.column];
    return {
      start: w.start,
      window: windowLabel(w.start, w.end),
      status: c?.status ?? null,
      psi: c?.psi ?? null,
      js: c?.js ?? null,
      pValue: c?.pValue ?? null,
    };
  });
  const kind = p.series.outputs.includes(p.column) ? 'Output' : 'Feature';
  return (
    <section className="card drift-detail" aria-labelledby="drift-detail-title">
      <div className="card-head">
        <DetailHeading
          id="drift-detail-title"
          selection={`${p.column}@${p.histogram?.ok ? p.histogram.data.start : ''}`}
        >
          {kind} <span className="mono">{p.column}</span>
        </DetailHeading>
        <Link href={p.closeHref} scroll={false} className="btn btn-link">
          Close<span className="visually-hidden"> the detail of {p.column}</span>
        </Link>
      </div>
      <div className="drift-detail-grid">
        <div>
          <h3>Reference vs current</h3>
          {!p.histogram ? null : !p.histogram.ok ? (
            <ErrorAlert message={p.histogram.message} />
          ) : (
            <Histogram h={p.histogram.data} />
          )}
        </div>
        <div>
          <h3>PSI, JS distance and p-value by window</h3>
          <figure className="drift-figure" aria-labelledby="distance-caption">
            <DistanceChart
              points={points}
              thresholds={p.thresholds}
              label={`PSI and JS distance of ${p.column} by window`}
            />
            <figcaption id="distance-caption" className="hint">
              PSI and Jensen-Shannon distance per window.
              {p.thresholds
                ? ` Dashed: PSI warn ${p.thresholds.psi.warn}, PSI drift ${p.thresholds.psi.drift}, JS ${p.thresholds.js}.`
                : ''}
            </figcaption>
          </figure>
          <figure className="drift-figure" aria-labelledby="pvalue-caption">
            <PValueChart
              points={points}
              threshold={p.thresholds?.pValue ?? null}
              label={`p-value of ${p.column} by window`}
            />
            <figcaption id="pvalue-caption" className="hint">
              p-value of the drift test per window (Kolmogorov-Smirnov for numbers, chi-squared for categories; log
              scale){p.thresholds ? `; below ${p.thresholds.pValue} the difference is significant` : ''}.
            </figcaption>
          </figure>
        </div>
      </div>
      <details className="drift-numbers">
        <summary>The figures as a table</summary>
        <DataTable
          label={`Metrics of ${p.column} by window`}
          compact
          rows={points}
          rowKey={(pt) => pt.start}
          empty="No windows in this range."
          columns={[
            {
              key: 'window',
              header: 'Window',
              rowHeader: true,
              nowrap: true,
              sort: (pt) => pt.start,
              cell: (pt) => pt.window,
            },
            {
              key: 'status',
              header: 'Status',
              sort: (pt) => pt.status,
              cell: (pt) => (pt.status ? STATUS_TEXT[pt.status] : 'no values'),
            },
            {
              key: 'psi',
              header: 'PSI',
              align: 'right',
              className: 'mono',
              sort: (pt) => pt.psi,
              cell: (pt) => formatStat(pt.psi),
            },
            {
              key: 'js',
              header: 'JS',
              align: 'right',
              className: 'mono',
              sort: (pt) => pt.js,
              cell: (pt) => formatStat(pt.js),
            },
            {
              key: 'p',
              header: 'p-value',
              align: 'right',
              className: 'mono',
              sort: (pt) => pt.pValue,
              cell: (pt) => formatPValue(pt.pValue),
            },
          ]}
        />
      </details>
    </section>
  );
}

function Histogram({ h }: { h: THistogram }) {
  const labels = binLabels(h.reference);
  const refTotal = h.reference.counts.reduce((a, b) => a + b, 0);
  const curTotal = h.current.counts.reduce((a, b) => a + b, 0);
  const bins: HistogramBin[] = labels.map((bin, i) => ({
    bin,
    reference: refTotal ? (h.reference.counts[i] ?? 0) / refTotal : 0,
    current: curTotal ? (h.current.counts[i] ?? 0) / curTotal : 0,
  }));
  return (
    <>
      <figure className="drift-figure" aria-labelledby="histogram-caption">
        <HistogramChart bins={bins} label={`Reference vs current histogram of ${h.column}`} />
        <figcaption id="histogram-caption" className="hint">
          Share of rows per bin: reference ({formatCount(refTotal)} rows
          {h.reference.missing ? `, ${formatCount(h.reference.missing)} missing` : ''}) vs the window from{' '}
          {formatTime(h.start)} ({formatCount(curTotal)} rows
          {h.current.missing ? `, ${formatCount(h.current.missing)} missing` : ''}).
        </figcaption>
      </figure>
      <details className="drift-numbers">
        <summary>The histogram as a table</summary>
        <DataTable
          label={`Histogram of ${h.column}`}
          compact
          rows={bins.map((b, i) => ({ b, i }))}
          rowKey={({ b, i }) => `${b.bin}-${i}`}
          empty="No bins."
          columns={[
            { key: 'bin', header: 'Bin', rowHeader: true, className: 'mono', nowrap: true, cell: ({ b }) => b.bin },
            {
              key: 'reference',
              header: 'Reference',
              align: 'right',
              className: 'mono',
              sort: ({ b }) => b.reference,
              cell: ({ b, i }) => `${formatCount(h.reference.counts[i] ?? 0)} (${percent(b.reference, 1)})`,
            },
            {
              key: 'current',
              header: 'Current',
              align: 'right',
              className: 'mono',
              sort: ({ b }) => b.current,
              cell: ({ b, i }) => `${formatCount(h.current.counts[i] ?? 0)} (${percent(b.current, 1)})`,
            },
          ]}
        />
      </details>
    </>
  );
}

function RulesTable({ rules }: { rules: TAlertRules }) {
  return (
    <DataTable
      label="Alert rules"
      describedBy="rules-readonly"
      compact
      className="rules-table"
      rows={rules.rules}
      rowKey={(r) => r.id ?? JSON.stringify(r)}
      empty="No rules: nothing raises an alert for this model."
      columns={[
        { key: 'kind', header: 'Kind', rowHeader: true, sort: (r) => r.kind, cell: (r) => RULE_KIND_LABELS[r.kind] },
        { key: 'condition', header: 'Condition', cell: (r) => describeRule(r, rules.latencySloMs) },
        { key: 'description', header: 'Description', cell: (r) => r.description || none },
      ]}
    />
  );
}

const ALERT_COLUMNS: Column<TAlert>[] = [
  {
    key: 'state',
    header: 'State',
    sort: (a) => a.state,
    cell: (a) => <span className={`badge alert-state-${a.state}`}>{a.state}</span>,
  },
  {
    key: 'rule',
    header: 'Rule',
    rowHeader: true,
    sort: (a) => a.kind,
    cell: (a) => (
      <>
        {RULE_KIND_LABELS[a.kind]}
        <div className="small muted">
          <Truncate text={a.ruleId} mono />
        </div>
      </>
    ),
  },
  {
    key: 'version',
    header: 'Version',
    nowrap: true,
    sort: (a) => a.version,
    cell: (a) => (
      <>
        v{a.version}
        {a.silent ? (
          <span className="badge" title="Alerts of silent versions are recorded, never sent by webhook">
            silent
          </span>
        ) : null}
      </>
    ),
  },
  {
    key: 'why',
    header: 'Why',
    className: 'summary',
    width: '35%',
    cell: (a) => {
      const figure = alertFigure(a);
      return (
        <>
          {a.message}
          {figure ? <div className="small muted">{figure}</div> : null}
        </>
      );
    },
  },
  {
    key: 'fired',
    header: 'Fired',
    nowrap: true,
    className: 'small',
    sort: (a) => a.firedAt,
    cell: (a) => <time dateTime={a.firedAt}>{formatTime(a.firedAt)}</time>,
  },
  {
    key: 'resolved',
    header: 'Resolved',
    nowrap: true,
    className: 'small',
    sort: (a) => a.resolvedAt,
    cell: (a) =>
      a.resolvedAt ? <time dateTime={a.resolvedAt}>{formatTime(a.resolvedAt)}</time> : <span className="muted">—</span>,
  },
];

function AlertsTable({ alerts }: { alerts: TAlert[] }) {
  return (
    <DataTable
      label="Alerts, newest first"
      className="alerts-table"
      rows={alerts}
      rowKey={(a) => a.id}
      columns={ALERT_COLUMNS}
      empty="No alerts."
      pageSize={25}
    />
  );
}
