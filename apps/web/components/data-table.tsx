import type { ReactNode } from 'react';
import Link from '@/components/project';
import { DataTableView, type ViewColumn, type ViewRow } from './data-table-view';

/** A value a column sorts by; null and undefined sort last in either direction. */
export type SortValue = string | number | boolean | null | undefined;

/**
 * One column of a {@link DataTable}. `cell` runs where the table is rendered (usually a server component), so it
 * may return client components; only its output crosses to the browser, never the function.
 */
export interface Column<Row> {
  /** Stable key of the column (React key, sort state). */
  key: string;
  header: ReactNode;
  cell: (row: Row) => ReactNode;
  /** Makes the header a sort button; the value the rows are compared by. */
  sort?: (row: Row) => SortValue;
  align?: 'left' | 'right';
  /**
   * A width hint in CSS units (e.g. '8rem', '20%'). Columns without one share what is left, so the table
   * fits the 1280 px page without scrolling sideways.
   */
  width?: string;
  /** The column disappears on screens narrower than this breakpoint (md = 900 px, lg = 1100 px). */
  hideBelow?: 'md' | 'lg';
  /** The cell is the row's header (`<th scope="row">`), e.g. a name linking to the row's own page. */
  rowHeader?: boolean;
  /** Cells that never wrap (dates, counts). */
  nowrap?: boolean;
  className?: string;
}

/** Paging by the API's cursors: links, because the page that lists the rows is a server component. */
export interface CursorPager {
  /** Link to the next page (the API's nextCursor), or nothing on the last page. */
  nextHref?: string | null;
  /** Link back to the first page, when not on it. */
  firstHref?: string | null;
  nextLabel?: string;
  /** E.g. "Showing 100 entries." */
  summary?: ReactNode;
}

export interface DataTableProps<Row> {
  /** Names the table for assistive technology; shown as a caption when `caption` is true. */
  label: string;
  caption?: boolean;
  /** Id of an element that says more about the table (aria-describedby). */
  describedBy?: string;
  columns: Column<Row>[];
  rows: readonly Row[];
  rowKey: (row: Row) => string;
  /** What the table says when there are no rows (the table itself is not drawn then). */
  empty: ReactNode;
  /** Client-side paging: rows per page; off when unset. Ignored when `cursor` is given. */
  pageSize?: number;
  /** Server-side paging by the API's cursors. */
  cursor?: CursorPager;
  /** Initial sort, by column key; the user's choice replaces it. */
  defaultSort?: { key: string; dir: 'asc' | 'desc' };
  rowClassName?: (row: Row) => string | undefined;
  /** An HTML id for the row, so other pages can link to it (#id). */
  rowId?: (row: Row) => string;
  /** Marks a row as the current one (aria-current), e.g. the version in production. */
  rowCurrent?: (row: Row) => boolean;
  compact?: boolean;
  className?: string;
}

const normalise = (v: SortValue): string | number | null =>
  v === null || v === undefined || v === '' ? null : typeof v === 'boolean' ? Number(v) : v;

/**
 * The dashboard's one table: typed columns, an empty state, client-side sorting (aria-sort, a header button),
 * client-side or cursor paging, widths that fit the page. Renders its cells here and hands the browser only
 * the rendered cells and their sort values, so server pages can use it with no client code of their own.
 */
export function DataTable<Row>(props: DataTableProps<Row>) {
  const { columns, rows, cursor } = props;
  if (rows.length === 0) {
    return (
      <div className="empty-state table-empty">
        <p className="muted">{props.empty}</p>
      </div>
    );
  }
  const viewColumns: ViewColumn[] = columns.map((c) => ({
    key: c.key,
    header: c.header,
    sortable: Boolean(c.sort),
    align: c.align ?? 'left',
    width: c.width,
    hideBelow: c.hideBelow,
    rowHeader: Boolean(c.rowHeader),
    nowrap: Boolean(c.nowrap),
    className: c.className,
  }));
  const viewRows: ViewRow[] = rows.map((row) => ({
    key: props.rowKey(row),
    cells: columns.map((c) => c.cell(row)),
    sortValues: columns.map((c) => (c.sort ? normalise(c.sort(row)) : null)),
    className: props.rowClassName?.(row),
    id: props.rowId?.(row),
    current: props.rowCurrent?.(row) ?? false,
  }));
  const classes = ['table', 'data-table', props.compact ? 'table-compact' : '', props.className ?? ''].filter(Boolean);
  return (
    <>
      <DataTableView
        label={props.label}
        caption={props.caption ?? false}
        describedBy={props.describedBy}
        columns={viewColumns}
        rows={viewRows}
        pageSize={cursor ? undefined : props.pageSize}
        defaultSort={props.defaultSort}
        className={classes.join(' ')}
      />
      {cursor && (cursor.nextHref || cursor.firstHref) ? (
        <nav className="pager" aria-label={`Pages of ${props.label}`}>
          <span className="pager-summary">
            {cursor.summary ? <span className="muted">{cursor.summary}</span> : null}
            {cursor.firstHref ? <Link href={cursor.firstHref}>First page</Link> : null}
          </span>
          {cursor.nextHref ? <Link href={cursor.nextHref}>{cursor.nextLabel ?? 'Next page'}</Link> : null}
        </nav>
      ) : null}
    </>
  );
}

/** A long id, URI or text cut to its cell's width, the whole of it in a tooltip. */
export function Truncate({ text, mono = false, children }: { text: string; mono?: boolean; children?: ReactNode }) {
  return (
    <span className={mono ? 'truncate mono' : 'truncate'} title={text}>
      {children ?? text}
    </span>
  );
}
