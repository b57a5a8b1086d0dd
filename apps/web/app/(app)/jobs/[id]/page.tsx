import type { Metadata } from 'next';
import Link, { ApiLink } from '@/components/project';
import type { TJob } from '@modelyard/contracts';
import { getMe, load } from '@/lib/api.server';
import { formatCount, formatDuration, formatTime } from '@/lib/format';
import { jobAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { DataTable, Truncate } from '@/components/data-table';
import { AutoRefresh } from '@/components/auto-refresh';
import { JOB_TYPE_LABELS, JobProgress, JobStatusBadge, isActive, versionText } from '@/components/job-badges';
import { JobActions } from './job-actions';

export async function generateMetadata({ params }: PageProps<'/jobs/[id]'>): Promise<Metadata> {
  return { title: `Job ${(await params).id.slice(0, 8)}` };
}

const POLL_MS = 1000;

/**
 * Downloads go through the web origin's `/api/*` forwarder (ApiLink: in the page's project), which streams the
 * API's answer: the file is never held in the web server's memory, and the session cookie authorizes it.
 */
const filePath = (id: string, kind: 'input' | 'output' | 'errors') =>
  `/v1/jobs/${encodeURIComponent(id)}/files/${kind}`;

export default async function JobPage({ params }: PageProps<'/jobs/[id]'>) {
  const { id } = await params;
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const { canWrite } = jobAbilities(me.data.role);
  const job = await load((api) => api.getJob(id));
  const short = id.slice(0, 8);

  if (!job.ok) {
    return (
      <>
        <div className="page-header">
          <p className="breadcrumb">
            <Link href="/jobs">Jobs</Link> /
          </p>
          <h1>Job {short}</h1>
        </div>
        <ErrorAlert message={job.message} />
        <p>
          <Link href="/jobs">Back to all jobs</Link>
        </p>
      </>
    );
  }
  const j = job.data;
  return (
    <>
      <AutoRefresh active={isActive(j.status)} everyMs={POLL_MS} />
      <div className="page-header page-header-row">
        <div>
          <p className="breadcrumb">
            <Link href="/jobs">Jobs</Link> /
          </p>
          <h1>Job {short}</h1>
          <p className="muted">
            {JOB_TYPE_LABELS[j.type]} with <Link href={`/models/${encodeURIComponent(j.model)}`}>{j.model}</Link>{' '}
            {versionText(j.version)}
            {j.scheduleId ? (
              <>
                {' '}
                · started by a <Link href={`/jobs/schedules#schedule-${j.scheduleId}`}>schedule</Link>
              </>
            ) : null}
          </p>
        </div>
        {canWrite ? <JobActions id={j.id} status={j.status} /> : null}
      </div>

      <section className="card" aria-labelledby="job-status-title">
        <h2 id="job-status-title" className="visually-hidden">
          Status
        </h2>
        <div className="job-status-row">
          <JobStatusBadge status={j.status} />
          <JobProgress job={j} label="Job progress" />
        </div>
        {j.error ? (
          <p className="notice notice-error job-error">
            <strong>{j.status === 'failed' ? 'Failed: ' : ''}</strong>
            {j.error}
          </p>
        ) : null}
        <dl className="facts">
          <Fact term="Rows in" value={formatCount(j.rowsIn)} />
          <Fact term="Rows out" value={formatCount(j.rowsOut)} />
          <Fact term="Rows failed" value={formatCount(j.rowsFailed)} />
          <Fact term="Submitted" value={formatTime(j.submittedAt)} />
          <Fact term="Started" value={formatTime(j.startedAt)} />
          <Fact term="Finished" value={formatTime(j.finishedAt)} />
          <Fact term={j.finishedAt ? 'Duration' : 'Running for'} value={formatDuration(j.startedAt, j.finishedAt)} />
          <Fact term="Attempts" value={String(j.attempts)} />
          {j.format ? <Fact term="Format" value={j.format} /> : null}
          {j.createdBy ? <Fact term="Submitted by" value={j.createdBy} /> : null}
        </dl>
      </section>

      {j.type === 'batch_score' ? <JobFiles job={j} /> : <AsyncResult job={j} />}
    </>
  );
}

function Fact({ term, value }: { term: string; value: string }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function JobFiles({ job: j }: { job: TJob }) {
  const files = [
    { kind: 'input', label: 'Input', uri: j.inputUri, note: 'the file that was scored' },
    { kind: 'output', label: 'Output', uri: j.outputUri, note: 'one row per scored input row, in input order' },
    { kind: 'errors', label: 'Errors', uri: j.errorsUri, note: 'rows that could not be scored, with the reason' },
  ] as const;
  // The output and errors files are assembled from their parts when the job succeeds; before that there is
  // nothing whole to download.
  const ready = (kind: (typeof files)[number]['kind']) => kind === 'input' || j.status === 'succeeded';
  return (
    <section className="card" aria-labelledby="job-files-title">
      <h2 id="job-files-title">Files</h2>
      <DataTable
        label="Job files"
        compact
        className="job-files"
        rows={files}
        rowKey={(f) => f.kind}
        empty="No files."
        columns={[
          { key: 'file', header: 'File', rowHeader: true, width: '7rem', cell: (f) => f.label },
          {
            key: 'location',
            header: 'Location',
            width: '40%',
            cell: (f) =>
              f.uri ? (
                <span className="small">
                  <Truncate text={f.uri} mono />
                </span>
              ) : (
                <span className="muted">
                  {f.kind === 'errors' && j.status === 'succeeded' ? 'none: every row was scored' : '—'}
                </span>
              ),
          },
          { key: 'contents', header: 'Contents', className: 'small muted', cell: (f) => f.note },
          {
            key: 'download',
            header: <span className="visually-hidden">Download</span>,
            nowrap: true,
            cell: (f) =>
              f.uri && ready(f.kind) ? (
                <ApiLink
                  className="btn btn-secondary btn-small"
                  path={filePath(j.id, f.kind)}
                  download
                  aria-label={`Download the ${f.kind} file`}
                >
                  Download
                </ApiLink>
              ) : null,
          },
        ]}
      />
    </section>
  );
}

function AsyncResult({ job: j }: { job: TJob }) {
  return (
    <section className="card" aria-labelledby="job-result-title">
      <h2 id="job-result-title">Result</h2>
      {j.result !== undefined && j.result !== null ? (
        <pre className="code-block" aria-label="Result JSON">
          {JSON.stringify(j.result, null, 2)}
        </pre>
      ) : (
        <p className="muted">
          {j.status === 'succeeded'
            ? `The result is no longer kept${j.expiresAt ? ` (it expired ${formatTime(j.expiresAt)})` : ''}.`
            : isActive(j.status)
              ? 'The answer appears here when the prediction has run.'
              : 'No result.'}
        </p>
      )}
      {j.callbackUrl ? (
        <dl className="facts">
          <Fact term="Callback URL" value={j.callbackUrl} />
          <Fact term="Callback" value={j.callbackStatus ?? 'not attempted yet'} />
        </dl>
      ) : null}
      {j.expiresAt && j.result !== undefined ? (
        <p className="small muted">Kept until {formatTime(j.expiresAt)}.</p>
      ) : null}
    </section>
  );
}
