import Link from '@/components/project';

/**
 * The orders a paged list can be fetched in, as links (the sort lives in the URL, so it survives paging and can
 * be shared). A header's sort button only reorders the page on screen; these ask the API for another order.
 */
export function SortLinks<S extends string>(props: {
  label: string;
  options: Record<S, string>;
  current: S;
  href: (sort: S) => string;
}) {
  const entries = Object.entries(props.options) as [S, string][];
  return (
    <nav className="sort-links small" aria-label={props.label}>
      <span className="muted">Order: </span>
      {entries.map(([value, text], i) => (
        <span key={value}>
          {i > 0 ? <span className="muted"> · </span> : null}
          {value === props.current ? (
            <strong aria-current="true">{text}</strong>
          ) : (
            <Link href={props.href(value)}>{text}</Link>
          )}
        </span>
      ))}
    </nav>
  );
}
