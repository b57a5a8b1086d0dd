import type { Metadata } from 'next';
import Link from '@/components/project';
import type { TPerformanceSlice } from '@modelyard/contracts';
import { load } from '@/lib/api.server';
import { formatPercent } from '@/lib/deployment-text';
import { formatCount, formatTime } from '@/lib/format';
import {
  CLASSIFIER_COLUMNS,
  isRegression,
  parseRange,
  performanceView,
  RANGE_KEYS,
  RANGES,
  REGRESSOR_COLUMNS,
  sliceKey,
  type PerformanceColumn,
} from '@/lib/performance';
import { ErrorAlert } from '@/components/alert';
import { DataTable, type Column } from '@/components/data-table';
import { PerformanceCharts } from '@/components/charts';
import { QualityPanel } from './quality';

export async function generateMetadata({ params }: PageProps<'/models/[name]/performance'>): Promise<Metadata> {
  return { title: `${(await params).name}: performance` };
}

const LABELS: Record<PerformanceColumn, string> = {
  accuracy: 'Accuracy',
  precision: 'Precision',
  recall: 'Recall',
  f1: 'F1',
  auc: 'AUC',
  logLoss: 'Log loss',
  mae: 'MAE',
  rmse: 'RMSE',
  r2: 'R²',
};
const figure = (v: number | null) => (v === null ? '—' : String(Number(v.toPrecision(3))));

/** Model quality on labelled predictions, per version and role, per window and per caller group (issue 18). */
export default async function PerformancePage({ params, searchParams }: PageProps<'/models/[name]/performance'>) {
  const { name } = await params;
  const sp = await searchParams;
  const range = parseRange(sp.range);
  const { ms, window, stepMs } = RANGES[range];
  const to = new Date();
  const from = new Date(to.getTime() - ms);
  const report = await load((api) => api.performance(name, { from: from.toISOString(), to: to.toISOString(), window }));
  const base = `/models/${encodeURIComponent(name)}`;
  const metrics: readonly PerformanceColumn[] =
    report.ok && isRegression(report.data) ? REGRESSOR_COLUMNS : CLASSIFIER_COLUMNS;
  const metric = metrics.includes(sp.metric as PerformanceColumn) ? (sp.metric as PerformanceColumn) : metrics[0]!;
  const columns = (withGroup: boolean): Column<TPerformanceSlice>[] => [
    ...(withGroup
      ? [
          {
            key: 'group',
            header: 'Caller group',
            rowHeader: true,
            sort: (r: TPerformanceSlice) => r.group ?? '',
            cell: (r: TPerformanceSlice) => r.group,
          },
        ]
      : []),
    {
      key: 'slice',
      header: 'Version and role',
      rowHeader: !withGroup,
      sort: (r) => sliceKey(r),
      cell: (r) => sliceKey(r),
    },
    {
      key: 'predictions',
      header: 'Predictions',
      align: 'right',
      sort: (r) => r.predictions,
      cell: (r) => formatCount(r.predictions),
    },
    {
      key: 'labelled',
      header: 'Labelled',
      align: 'right',
      sort: (r) => r.labelled,
      cell: (r) => formatCount(r.labelled),
    },
    {
      key: 'coverage',
      header: 'Coverage',
      align: 'right',
      sort: (r) => r.coverage,
      cell: (r) => formatPercent(r.coverage),
    },
    ...metrics.map((m): Column<TPerformanceSlice> => ({
      key: m,
      header: LABELS[m],
      align: 'right',
      sort: (r) => r[m],
      cell: (r) => figure(r[m]),
    })),
  ];

  return (
    <>
      <div className="page-header">
        <p className="breadcrumb">
          <Link href="/models">Models</Link> / <Link href={base}>{name}</Link> /
        </p>
        <h1>Performance</h1>
        <p className="muted">
          Quality of {name}&apos;s predictions that received labels (POST /v1/models/{name}/feedback), by version and
          role. Coverage is the labelled share of logged predictions: read every figure with it.
        </p>
      </div>
      <div className="toolbar">
        <nav className="segmented" aria-label="Time range">
          {RANGE_KEYS.map((k) => (
            <Link
              key={k}
              href={`${base}/performance?range=${k}&metric=${metric}`}
              aria-current={k === range ? 'page' : undefined}
            >
              {RANGES[k].label}
            </Link>
          ))}
        </nav>
        <nav className="segmented" aria-label="Metric">
          {metrics.map((m) => (
            <Link
              key={m}
              href={`${base}/performance?range=${range}&metric=${m}`}
              aria-current={m === metric ? 'page' : undefined}
            >
              {LABELS[m]}
            </Link>
          ))}
        </nav>
        <span className="muted small">Updated {formatTime(to.toISOString())}</span>
      </div>
      {!report.ok ? (
        <ErrorAlert message={report.message} />
      ) : report.data.byVersion.length === 0 ? (
        <section className="card empty-state">
          <p className="muted">
            No logged predictions in the last {RANGES[range].label}. Send labels for predictions by their
            X-Prediction-Id or your X-Entity-Id, and figures appear here.
          </p>
        </section>
      ) : (
        <>
          <section className="card" aria-labelledby="performance-summary-title">
            <h2 id="performance-summary-title">Last {RANGES[range].label}</h2>
            <DataTable
              label="Performance by version and role"
              rows={report.data.byVersion}
              rowKey={(r) => sliceKey(r)}
              empty="No predictions."
              columns={columns(false)}
            />
            {report.data.truncated ? (
              <p className="hint">Only the newest logged predictions of the range were read (PERFORMANCE_MAX_ROWS).</p>
            ) : null}
          </section>
          <section className="card">
            <PerformanceCharts view={performanceView(report.data, stepMs)} metric={metric} />
          </section>
          {report.data.quality.length ? (
            <section className="card" aria-labelledby="performance-quality-title">
              <h2 id="performance-quality-title">Confusion matrix and calibration</h2>
              {report.data.quality.map((q) => (
                <QualityPanel key={sliceKey(q)} q={q} />
              ))}
            </section>
          ) : null}
          <section className="card" aria-labelledby="performance-groups-title">
            <h2 id="performance-groups-title">By caller group</h2>
            <DataTable
              label="Performance by caller group"
              rows={report.data.byGroup}
              rowKey={(r) => `${r.group} ${sliceKey(r)}`}
              empty="No predictions from callers in groups."
              columns={columns(true)}
            />
          </section>
        </>
      )}
    </>
  );
}
