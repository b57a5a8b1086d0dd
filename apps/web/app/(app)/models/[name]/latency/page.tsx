import type { Metadata } from 'next';
import Link from '@/components/project';
import { load } from '@/lib/api.server';
import { formatPercent, formatMs } from '@/lib/deployment-text';
import { formatCount, formatTime } from '@/lib/format';
import { latencyView, parseRange, RANGE_KEYS, RANGES } from '@/lib/latency';
import { ErrorAlert } from '@/components/alert';
import { DataTable } from '@/components/data-table';
import { LatencyCharts } from '@/components/charts';
import { RefreshToggle } from './refresh-toggle';

export async function generateMetadata({ params }: PageProps<'/models/[name]/latency'>): Promise<Metadata> {
  return { title: `${(await params).name}: latency` };
}

const REFRESH_MS = 5000;

/** Requests/s, errors and p50/p95/p99 of every version and role of a model, from the API's per-minute rollups. */
export default async function LatencyPage({ params, searchParams }: PageProps<'/models/[name]/latency'>) {
  const { name } = await params;
  const range = parseRange((await searchParams).range);
  const { ms, stepMs } = RANGES[range];
  const to = new Date();
  const from = new Date(to.getTime() - ms);
  const [series, rules] = await Promise.all([
    load((api) => api.metricSeries(name, { from: from.toISOString(), to: to.toISOString() })),
    load((api) => api.alertRules(name)),
  ]);
  const base = `/models/${encodeURIComponent(name)}`;
  const view = series.ok ? latencyView(series.data, stepMs) : null;
  const slo = rules.ok ? rules.data.latencySloMs : null;

  return (
    <>
      <div className="page-header">
        <p className="breadcrumb">
          <Link href="/models">Models</Link> / <Link href={base}>{name}</Link> /
        </p>
        <h1>Latency</h1>
        <p className="muted">
          Requests answered by each version of {name}, by role: production, pilots, and silent versions that get copies.
          {slo ? <> The p99 SLO is {slo} ms.</> : null}
        </p>
      </div>
      <div className="toolbar">
        <nav className="segmented" aria-label="Time range">
          {RANGE_KEYS.map((k) => (
            <Link key={k} href={`${base}/latency?range=${k}`} aria-current={k === range ? 'page' : undefined}>
              {RANGES[k].label}
            </Link>
          ))}
        </nav>
        <RefreshToggle everyMs={REFRESH_MS} />
        <span className="muted small">Updated {formatTime(to.toISOString())}</span>
      </div>
      {!rules.ok ? <ErrorAlert message={`Cannot read the latency SLO: ${rules.message}`} /> : null}
      {!series.ok || !view ? (
        <ErrorAlert message={series.ok ? null : series.message} />
      ) : view.series.length === 0 ? (
        <section className="card empty-state">
          <p className="muted">
            No requests in the last {RANGES[range].label}. Charts fill as soon as {name} answers predictions.
          </p>
        </section>
      ) : (
        <>
          <section className="card" aria-labelledby="latency-summary-title">
            <h2 id="latency-summary-title">Last {RANGES[range].label}</h2>
            <DataTable
              label="Latency by version and role"
              className="latency-table"
              rows={view.series}
              rowKey={(r) => r.key}
              empty="No requests."
              columns={[
                { key: 'key', header: 'Version and role', rowHeader: true, sort: (r) => r.key, cell: (r) => r.key },
                {
                  key: 'count',
                  header: 'Requests',
                  align: 'right',
                  sort: (r) => r.count,
                  cell: (r) => formatCount(r.count),
                },
                {
                  key: 'rps',
                  header: 'Requests/s',
                  align: 'right',
                  sort: (r) => r.requestsPerSecond,
                  cell: (r) => Number(r.requestsPerSecond.toPrecision(3)),
                },
                {
                  key: 'errors',
                  header: 'Error rate',
                  align: 'right',
                  sort: (r) => r.errorRate,
                  cell: (r) => formatPercent(r.errorRate, 2),
                },
                { key: 'p50', header: 'p50', align: 'right', sort: (r) => r.p50Ms, cell: (r) => formatMs(r.p50Ms) },
                { key: 'p95', header: 'p95', align: 'right', sort: (r) => r.p95Ms, cell: (r) => formatMs(r.p95Ms) },
                {
                  key: 'p99',
                  header: 'p99',
                  align: 'right',
                  sort: (r) => r.p99Ms,
                  cell: (r) => (
                    <span className={slo && r.p99Ms !== null && r.p99Ms > slo ? 'text-danger' : undefined}>
                      {formatMs(r.p99Ms)}
                    </span>
                  ),
                },
              ]}
            />
            <p className="hint">
              Silent versions answer copies of production requests; their requests are not callers&apos; requests.
            </p>
          </section>
          <section className="card">
            <LatencyCharts view={view} sloMs={slo} />
          </section>
        </>
      )}
    </>
  );
}
