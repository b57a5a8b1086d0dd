import type { Metadata } from 'next';
import Link from '@/components/project';
import type { TModelOverview } from '@modelyard/contracts';
import { getMe, load, pageHref } from '@/lib/api.server';
import { formatCount, formatTime } from '@/lib/format';
import { overviewSortOf, SORT_LABELS } from '@/lib/overview';
import { registryAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { DataTable, type Column } from '@/components/data-table';
import { SortLinks } from '@/components/sort-links';
import { Field } from '@/components/form';
import { RegisterModelPanel } from './register-model-panel';

export const metadata: Metadata = { title: 'Models' };

const PAGE_SIZE = 50;

const none = <span className="muted">—</span>;

const MODEL_COLUMNS: Column<TModelOverview>[] = [
  {
    // Not nowrap: a long generated name breaks after a hyphen instead of pushing the table past 1280 px.
    key: 'name',
    header: 'Name',
    sort: (m) => m.name,
    cell: (m) => (
      <>
        <Link href={`/models/${encodeURIComponent(m.name)}`} className="strong-link">
          {m.name}
        </Link>
        {m.requiresApproval ? (
          <span className="badge badge-muted" title="Production needs a second approver">
            approval
          </span>
        ) : null}
      </>
    ),
  },
  { key: 'description', header: 'Description', className: 'summary', cell: (m) => m.description || none },
  {
    key: 'production',
    header: 'Production',
    sort: (m) => m.productionVersion,
    cell: (m) =>
      m.productionVersion !== null ? (
        <span className="badge badge-stage-production">v{m.productionVersion}</span>
      ) : (
        none
      ),
  },
  {
    key: 'staging',
    header: 'Staging',
    hideBelow: 'md',
    cell: (m) =>
      m.stagingVersions.length ? (
        <span className="badge-list">
          {m.stagingVersions.map((v) => (
            <span key={v} className="badge badge-stage-staging">
              v{v}
            </span>
          ))}
        </span>
      ) : (
        none
      ),
  },
  {
    key: 'aliases',
    header: 'Aliases',
    hideBelow: 'lg',
    cell: (m) => {
      const aliases = Object.entries(m.aliases).sort(([a], [b]) => a.localeCompare(b));
      return aliases.length ? (
        <span className="badge-list">
          {aliases.map(([a, v]) => (
            <span key={a} className="badge badge-alias">
              @{a} → v{v}
            </span>
          ))}
        </span>
      ) : (
        none
      );
    },
  },
  {
    key: 'latest',
    header: 'Latest',
    sort: (m) => m.latestVersion,
    cell: (m) => (m.latestVersion !== null ? `v${m.latestVersion}` : <span className="muted">none</span>),
  },
  {
    key: 'requests',
    header: <abbr title="Requests in the last 24 hours">Requests</abbr>,
    align: 'right',
    hideBelow: 'md',
    sort: (m) => m.traffic.count,
    cell: (m) => <span className="mono">{formatCount(m.traffic.count)}</span>,
  },
  { key: 'updated', header: 'Updated', sort: (m) => m.updatedAt, nowrap: true, cell: (m) => formatTime(m.updatedAt) },
];

function first(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
}

export default async function ModelsPage({ searchParams }: PageProps<'/models'>) {
  const params = await searchParams;
  const search = first(params.q);
  const cursor = first(params.cursor);
  const sort = overviewSortOf(first(params.sort));
  // The overview's endpoint: one aggregated query per page, and the 24 h request count comes with it. Asked for
  // beside /v1/me, not after it: the list does not depend on the role.
  const [me, models] = await Promise.all([
    getMe(),
    load((api) =>
      api.overview({ search: search || undefined, cursor: cursor || undefined, limit: PAGE_SIZE, sort, points: 1 }),
    ),
  ]);
  if (!me.ok) return null; // the layout shows why
  const { canWrite } = registryAbilities(me.data.role);
  /** The page's URL with these parameters (the search and the sort stay while paging). */
  const href = (extra: { sort?: string; cursor?: string }) => {
    const q = new URLSearchParams({
      ...(search ? { q: search } : {}),
      ...((extra.sort ?? sort) !== 'updated' ? { sort: extra.sort ?? sort } : {}),
      ...(extra.cursor ? { cursor: extra.cursor } : {}),
    }).toString();
    return q ? `/models?${q}` : '/models';
  };

  return (
    <>
      <div className="page-header page-header-row">
        <div>
          <h1>Models</h1>
          <p className="muted">Every registered model with what serves production now and what waits in staging.</p>
        </div>
        {canWrite ? <RegisterModelPanel /> : null}
      </div>

      <section className="card">
        {/* A plain GET form: the search lives in the URL, so it can be shared and works before scripts load. */}
        <form className="inline-form search-form" action={await pageHref('/models')} role="search">
          <Field id="model-search" label="Search models" hiddenLabel className="search-field">
            <input
              name="q"
              type="search"
              defaultValue={search}
              placeholder="Search by name or description"
              maxLength={100}
            />
          </Field>
          {sort !== 'updated' ? <input type="hidden" name="sort" value={sort} /> : null}
          <button type="submit" className="btn btn-secondary">
            Search
          </button>
          {search ? (
            <Link href="/models" className="btn btn-link">
              Clear
            </Link>
          ) : null}
        </form>
      </section>

      {!models.ok ? (
        <ErrorAlert message={models.message} />
      ) : models.data.items.length === 0 ? (
        <section className="card empty-state">
          {search ? (
            <p className="muted">No models match &ldquo;{search}&rdquo;.</p>
          ) : (
            <>
              <h2>No models yet</h2>
              <p className="muted">
                {canWrite
                  ? 'Register the first one: choose “Register a model” and upload an ONNX file.'
                  : 'Models appear here once a scientist registers one.'}
              </p>
            </>
          )}
        </section>
      ) : (
        <section className="card">
          <SortLinks label="Order of the models" options={SORT_LABELS} current={sort} href={(s) => href({ sort: s })} />
          <DataTable
            label="Models"
            rows={models.data.items}
            rowKey={(m) => m.id}
            columns={MODEL_COLUMNS}
            empty="No models yet."
            cursor={{
              firstHref: cursor ? href({}) : null,
              nextHref: models.data.nextCursor ? href({ cursor: models.data.nextCursor }) : null,
            }}
          />
        </section>
      )}
    </>
  );
}
