import type { Metadata } from 'next';
import type { TStreamDeployment } from '@modelyard/contracts';
import Link from '@/components/project';
import { getMe, load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { DataTable, Truncate, type Column } from '@/components/data-table';
import { JobsNav } from '../jobs-nav';

export const metadata: Metadata = { title: 'Streams' };

const count = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toLocaleString('en'));

const STREAM_COLUMNS: Column<TStreamDeployment>[] = [
  { key: 'name', header: 'Name', sort: (s) => s.name, rowHeader: true, cell: (s) => s.name },
  {
    key: 'model',
    header: 'Model',
    sort: (s) => s.model,
    cell: (s) => <Link href={`/models/${encodeURIComponent(s.model)}`}>{s.model}</Link>,
  },
  {
    key: 'streams',
    header: 'Source → sink',
    cell: (s) => <Truncate text={`${s.source} → ${s.sink}`} mono />,
  },
  { key: 'lag', header: 'Lag', align: 'right', sort: (s) => s.stats?.lag ?? null, cell: (s) => count(s.stats?.lag) },
  {
    key: 'pending',
    header: 'Pending',
    align: 'right',
    sort: (s) => s.stats?.pending ?? null,
    cell: (s) => count(s.stats?.pending),
  },
  {
    key: 'dead',
    header: 'Dead letters',
    align: 'right',
    sort: (s) => s.stats?.deadLetterLength ?? null,
    cell: (s) => count(s.stats?.deadLetterLength),
  },
  {
    key: 'state',
    header: 'State',
    sort: (s) => s.paused,
    nowrap: true,
    cell: (s) =>
      s.paused ? (
        <span className="badge badge-job-cancelled">paused</span>
      ) : (
        <span className="badge badge-ok">running</span>
      ),
  },
  {
    key: 'created',
    header: 'Created',
    sort: (s) => s.createdAt,
    nowrap: true,
    className: 'small',
    hideBelow: 'lg',
    cell: (s) => formatTime(s.createdAt),
  },
];

/** Stream deployments with their lag (read from Redis with the list); managed with the API or `modelyard streams`. */
export default async function StreamsPage() {
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const streams = await load((api) => api.listStreams());
  return (
    <>
      <div className="page-header">
        <h1>Streams</h1>
        <p className="muted">
          Stream deployments: every record added to the source stream is scored with the model&apos;s deployment and its
          result written to the sink. Lag is what the workers have not read yet.
        </p>
      </div>
      <JobsNav current="streams" />
      {!streams.ok ? (
        <ErrorAlert message={streams.message} />
      ) : (
        <section className="card">
          <DataTable
            label="Stream deployments"
            rows={streams.data}
            rowKey={(s) => s.id}
            rowId={(s) => `stream-${s.id}`}
            columns={STREAM_COLUMNS}
            rowClassName={(s) => (s.paused ? 'row-inactive' : undefined)}
            pageSize={50}
            empty="No stream deployments yet: create one with `modelyard streams create` or the API."
          />
        </section>
      )}
    </>
  );
}
