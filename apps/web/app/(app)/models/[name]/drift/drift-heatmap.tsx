import Link from '@/components/project';
import type { TDriftSeries, TDriftStatus } from '@modelyard/contracts';
import { formatCount } from '@/lib/format';
import { STATUS_TEXT, formatPValue, formatStat, percent, windowLabel } from './drift-text';

type Window = TDriftSeries['windows'][number];

export function DriftStatusBadge({ status }: { status: TDriftStatus | null }) {
  if (!status) return <span className="badge badge-muted">no report</span>;
  return <span className={`badge drift-badge-${status}`}>{STATUS_TEXT[status]}</span>;
}

/**
 * Columns (features, then outputs) down, windows across, one cell per column and window. A cell says its status
 * in words and its PSI, and is coloured by status; its link selects that column and window for the detail
 * below (the row header selects the column in the latest window). Links, not buttons: they work from the
 * keyboard without script, and the selection lives in the URL so it can be shared.
 */
export function DriftHeatmap(p: {
  series: TDriftSeries;
  /** Builds the page URL that selects a column (and optionally a window). */
  hrefFor: (column: string, start?: string) => string;
  selected: { column: string | null; start: string | null };
}) {
  const { series } = p;
  const windows = series.windows;
  const groups: { title: string; columns: string[] }[] = [
    { title: 'Features', columns: series.features },
    { title: 'Outputs', columns: series.outputs },
  ].filter((g) => g.columns.length > 0);

  return (
    <div className="table-scroll">
      <table className="table table-compact drift-heatmap" aria-label="Drift by column and window">
        <thead>
          <tr>
            <th scope="col">Column</th>
            {windows.map((w) => (
              <th scope="col" key={w.start} className="drift-window-head">
                <time dateTime={w.start}>{windowLabel(w.start, w.end)}</time>
                {w.silent ? (
                  <span
                    className="badge badge-muted"
                    title="Every row of this window came from a silent (shadow) deployment"
                  >
                    silent
                  </span>
                ) : null}
              </th>
            ))}
          </tr>
          <tr className="drift-dataset-row">
            <th scope="row">Dataset drift share</th>
            {windows.map((w) => (
              <td key={w.start} className="nowrap">
                <DriftStatusBadge status={w.status} /> <span className="mono">{percent(w.driftShare)}</span>
                <div className="small muted">{formatCount(w.rows)} rows</div>
              </td>
            ))}
          </tr>
        </thead>
        {groups.map((g) => (
          <tbody key={g.title}>
            <tr className="drift-group-row">
              <th scope="colgroup" colSpan={windows.length + 1}>
                {g.title}
              </th>
            </tr>
            {g.columns.map((column) => (
              <tr key={column} aria-current={column === p.selected.column ? 'true' : undefined}>
                <th scope="row" className="drift-column-head">
                  <Link href={p.hrefFor(column)} scroll={false} className="mono">
                    {column}
                  </Link>
                </th>
                {windows.map((w) => (
                  <HeatCell
                    key={w.start}
                    column={column}
                    window={w}
                    href={p.hrefFor(column, w.start)}
                    selected={column === p.selected.column && w.start === p.selected.start}
                  />
                ))}
              </tr>
            ))}
          </tbody>
        ))}
      </table>
    </div>
  );
}

function HeatCell(p: { column: string; window: Window; href: string; selected: boolean }) {
  const point = p.window.columns[p.column];
  const when = windowLabel(p.window.start, p.window.end);
  if (!point) {
    return (
      <td className="drift-cell-wrap">
        <span className="drift-cell drift-cell-none" title={`${p.column}, ${when}: no values in this window`}>
          —
          <span className="visually-hidden">
            {' '}
            {p.column}, {when}: no values
          </span>
        </span>
      </td>
    );
  }
  const figures = `PSI ${formatStat(point.psi)}, JS ${formatStat(point.js)}, p-value ${formatPValue(point.pValue)}`;
  return (
    <td className="drift-cell-wrap">
      <Link
        href={p.href}
        scroll={false}
        className={`drift-cell drift-cell-${point.status}`}
        data-status={point.status}
        title={`${p.column}, ${when}: ${STATUS_TEXT[point.status]} (${figures})`}
        aria-current={p.selected ? 'true' : undefined}
      >
        <span className="visually-hidden">
          {p.column}, {when}:{' '}
        </span>
        <span className="drift-cell-status">{STATUS_TEXT[point.status]}</span>
        <span className="drift-cell-figure">PSI {formatStat(point.psi)}</span>
      </Link>
    </td>
  );
}
