'use client';
import { useMemo, useState, type ReactNode } from 'react';

/** A column as the browser gets it: everything but the functions, which ran where the table was rendered. */
export interface ViewColumn {
  key: string;
  header: ReactNode;
  sortable: boolean;
  align: 'left' | 'right';
  width?: string;
  hideBelow?: 'md' | 'lg';
  rowHeader: boolean;
  nowrap: boolean;
  className?: string;
}

export interface ViewRow {
  key: string;
  cells: ReactNode[];
  sortValues: (string | number | null)[];
  className?: string;
  id?: string;
  current: boolean;
}

type Dir = 'asc' | 'desc';

function compare(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: 'base' });
}

function cellClass(c: ViewColumn): string | undefined {
  const classes = [
    c.align === 'right' ? 'num' : '',
    c.nowrap ? 'nowrap' : '',
    c.hideBelow ? `hide-below-${c.hideBelow}` : '',
    c.rowHeader ? 'row-title' : '',
    c.className ?? '',
  ].filter(Boolean);
  return classes.length ? classes.join(' ') : undefined;
}

/** The interactive half of DataTable: sort state and client-side pages. */
export function DataTableView(props: {
  label: string;
  caption: boolean;
  describedBy?: string;
  columns: ViewColumn[];
  rows: ViewRow[];
  pageSize?: number;
  defaultSort?: { key: string; dir: Dir };
  className: string;
}) {
  const { columns, rows, pageSize } = props;
  const [sort, setSort] = useState<{ key: string; dir: Dir } | null>(props.defaultSort ?? null);
  const [page, setPage] = useState(0);

  const sorted = useMemo(() => {
    const index = sort ? columns.findIndex((c) => c.key === sort.key) : -1;
    if (index < 0 || !sort) return rows;
    const sign = sort.dir === 'asc' ? 1 : -1;
    // Missing values stay last whichever way the column sorts.
    return [...rows].sort((a, b) => {
      const x = a.sortValues[index] ?? null;
      const y = b.sortValues[index] ?? null;
      if (x === null || y === null) return compare(x, y);
      return sign * compare(x, y);
    });
  }, [rows, columns, sort]);

  const pages = pageSize ? Math.max(1, Math.ceil(sorted.length / pageSize)) : 1;
  const current = Math.min(page, pages - 1);
  const first = current * (pageSize ?? 0);
  const visible = pageSize ? sorted.slice(first, first + pageSize) : sorted;

  function toggle(key: string) {
    setSort((s) => (s?.key === key ? { key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: 'asc' }));
    setPage(0);
  }

  return (
    <>
      <div className="table-frame">
        <table
          className={props.className}
          aria-label={props.caption ? undefined : props.label}
          aria-describedby={props.describedBy}
        >
          {props.caption ? <caption>{props.label}</caption> : null}
          <colgroup>
            {columns.map((c) => (
              <col key={c.key} style={{ width: c.width }} />
            ))}
          </colgroup>
          <thead>
            <tr>
              {columns.map((c) => {
                const dir = sort?.key === c.key ? sort.dir : null;
                const ariaSort = dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : 'none';
                return (
                  <th
                    key={c.key}
                    scope="col"
                    className={cellClass({ ...c, rowHeader: false, className: undefined })}
                    aria-sort={c.sortable ? ariaSort : undefined}
                  >
                    {c.sortable ? (
                      <button type="button" className="sort-button" onClick={() => toggle(c.key)}>
                        {c.header}
                        <span className="sort-mark" aria-hidden="true">
                          {dir === 'asc' ? '▲' : dir === 'desc' ? '▼' : '↕'}
                        </span>
                      </button>
                    ) : (
                      c.header
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {visible.map((r) => (
              <tr key={r.key} id={r.id} className={r.className} aria-current={r.current ? 'true' : undefined}>
                {columns.map((c, i) =>
                  c.rowHeader ? (
                    <th key={c.key} scope="row" className={cellClass(c)}>
                      {r.cells[i]}
                    </th>
                  ) : (
                    <td key={c.key} className={cellClass(c)}>
                      {r.cells[i]}
                    </td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {pages > 1 ? (
        <nav className="pager" aria-label={`Pages of ${props.label}`}>
          <span className="muted" aria-live="polite">
            Rows {first + 1}–{Math.min(sorted.length, first + (pageSize ?? 0))} of {sorted.length}
          </span>
          <span className="pager-buttons">
            <button
              type="button"
              className="btn btn-secondary btn-small"
              disabled={current === 0}
              onClick={() => setPage(current - 1)}
            >
              Previous page
            </button>
            <button
              type="button"
              className="btn btn-secondary btn-small"
              disabled={current >= pages - 1}
              onClick={() => setPage(current + 1)}
            >
              Next page
            </button>
          </span>
        </nav>
      ) : null}
    </>
  );
}
