import type { Metadata } from 'next';
import Link from '@/components/project';
import { JOB_STATUSES, JOB_TYPES, type TJob, type TJobQuery } from '@modelyard/contracts';
import { getMe, load, pageHref } from '@/lib/api.server';
import { formatCount, formatDuration, formatTime } from '@/lib/format';
import { jobAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { DataTable, type Column } from '@/components/data-table';
import { Field } from '@/components/form';
import { AutoRefresh } from '@/components/auto-refresh';
import { JOB_TYPE_LABELS, JobProgress, JobStatusBadge, isActive, versionText } from '@/components/job-badges';
import { JobsNav } from './jobs-nav';

export const metadata: Metadata = { title: 'Jobs' };

const PAGE_SIZE = 25;
/** Progress moves a chunk at a time (every few seconds on big files); a second is as often as anyone looks. */
const POLL_MS = 1000;

/** The list shows the start of an error; the job's page (and the tooltip) has all of it. */
const ERROR_CHARS = 90;
const clip = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** Date and time as two unbreakable halves, so a narrow column wraps between them and nowhere else. */
function DateTime({ iso }: { iso: string }) {
  const [date, ...time] = formatTime(iso).split(' ');
  return (
    <>
      <span className="nowrap">{date}</span> <span className="nowrap">{time.join(' ')}</span>
    </>
  );
}

const JOB_COLUMNS: Column<TJob>[] = [
  {
    key: 'job',
    header: 'Job',
    rowHeader: true,
    nowrap: true,
    sort: (j) => j.type,
    cell: (j) => (
      <>
        <Link href={`/jobs/${j.id}`} className="strong-link" aria-label={`Job ${j.id.slice(0, 8)}`}>
          <span className="mono">{j.id.slice(0, 8)}</span>
        </Link>
        <div className="small muted">
          {JOB_TYPE_LABELS[j.type]}
          {j.scheduleId ? ' · scheduled' : ''}
        </div>
      </>
    ),
  },
  {
    key: 'model',
    header: 'Model',
    sort: (j) => j.model,
    cell: (j) => (
      <>
        <Link href={`/models/${encodeURIComponent(j.model)}`}>{j.model}</Link>{' '}
        <span className="muted nowrap">{versionText(j.version)}</span>
      </>
    ),
  },
  {
    key: 'status',
    header: 'Status',
    sort: (j) => j.status,
    cell: (j) => (
      <>
        <JobStatusBadge status={j.status} />
        {j.error ? (
          <div className="small failure-reason" title={j.error}>
            {clip(j.error, ERROR_CHARS)}
          </div>
        ) : null}
      </>
    ),
  },
  {
    key: 'progress',
    header: 'Progress',
    hideBelow: 'md',
    cell: (j) => <JobProgress job={j} label={`Progress of job ${j.id.slice(0, 8)}`} />,
  },
  {
    key: 'rows',
    header: 'Rows in / out / failed',
    align: 'right',
    nowrap: true,
    className: 'mono small',
    sort: (j) => j.rowsIn,
    cell: (j) => (
      <>
        {formatCount(j.rowsIn)} / {formatCount(j.rowsOut)} /{' '}
        <span className={j.rowsFailed ? 'text-danger' : undefined}>{formatCount(j.rowsFailed)}</span>
      </>
    ),
  },
  {
    key: 'submitted',
    header: 'Submitted',
    sort: (j) => j.submittedAt,
    className: 'small',
    cell: (j) => <DateTime iso={j.submittedAt} />,
  },
  {
    key: 'duration',
    header: 'Duration',
    nowrap: true,
    className: 'small',
    hideBelow: 'lg',
    sort: (j) => (j.startedAt && j.finishedAt ? Date.parse(j.finishedAt) - Date.parse(j.startedAt) : null),
    cell: (j) => formatDuration(j.startedAt, j.finishedAt),
  },
];

function first(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
}

function oneOf<T extends string>(value: string, allowed: readonly T[]): T | undefined {
  return (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

export default async function JobsPage({ searchParams }: PageProps<'/jobs'>) {
  const params = await searchParams;
  const filters = {
    type: oneOf(first(params.type), JOB_TYPES),
    status: oneOf(first(params.status), JOB_STATUSES),
    model: first(params.model) || undefined,
  } satisfies TJobQuery;
  const cursor = first(params.cursor);
  const filtered = Boolean(filters.type || filters.status || filters.model);
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const { canWrite } = jobAbilities(me.data.role);
  const jobs = await load((api) => api.listJobs({ ...filters, cursor: cursor || undefined, limit: PAGE_SIZE }));
  const filterQuery = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;

  return (
    <>
      <AutoRefresh active={jobs.ok && jobs.data.items.some((j) => isActive(j.status))} everyMs={POLL_MS} />
      <div className="page-header page-header-row">
        <div>
          <h1>Jobs</h1>
          <p className="muted">Batch scoring and async predictions, newest first. Running jobs update live.</p>
        </div>
        {canWrite ? (
          <Link href="/jobs/new" className="btn btn-primary">
            New batch job
          </Link>
        ) : null}
      </div>
      <JobsNav current="jobs" />

      <section className="card">
        {/* A plain GET form: the filters live in the URL, so they can be shared and work before scripts load. */}
        <form
          className="inline-form filter-form"
          action={await pageHref('/jobs')}
          role="search"
          aria-label="Filter jobs"
        >
          <Field id="jobs-type" label="Type" size="inline">
            <select name="type" defaultValue={filters.type ?? ''}>
              <option value="">All types</option>
              {JOB_TYPES.map((t) => (
                <option key={t} value={t}>
                  {JOB_TYPE_LABELS[t]}
                </option>
              ))}
            </select>
          </Field>
          <Field id="jobs-status" label="Status" size="inline">
            <select name="status" defaultValue={filters.status ?? ''}>
              <option value="">All statuses</option>
              {JOB_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
          <Field id="jobs-model" label="Model" size="inline">
            <input
              name="model"
              type="search"
              defaultValue={filters.model ?? ''}
              placeholder="Model name"
              maxLength={128}
            />
          </Field>
          <button type="submit" className="btn btn-secondary">
            Filter
          </button>
          {filtered ? (
            <Link href="/jobs" className="btn btn-link">
              Clear
            </Link>
          ) : null}
        </form>
      </section>

      {!jobs.ok ? (
        <ErrorAlert message={jobs.message} />
      ) : jobs.data.items.length === 0 ? (
        <section className="card empty-state">
          {filtered ? (
            <p className="muted">No jobs match these filters.</p>
          ) : (
            <>
              <h2>No jobs yet</h2>
              <p className="muted">
                {canWrite
                  ? 'Start one with “New batch job”: upload a CSV or JSON Lines file and score it with a model.'
                  : 'Batch jobs and async predictions appear here once someone starts one.'}
              </p>
            </>
          )}
        </section>
      ) : (
        <section className="card">
          <DataTable
            label="Jobs"
            rows={jobs.data.items}
            rowKey={(j) => j.id}
            columns={JOB_COLUMNS}
            className="jobs-table"
            empty="No jobs match these filters."
            cursor={{
              firstHref: cursor ? `/jobs?${new URLSearchParams(filterQuery)}` : null,
              nextHref: jobs.data.nextCursor
                ? `/jobs?${new URLSearchParams({ ...filterQuery, cursor: jobs.data.nextCursor })}`
                : null,
            }}
          />
        </section>
      )}
    </>
  );
}
