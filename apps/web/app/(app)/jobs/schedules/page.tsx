import type { Metadata } from 'next';
import type { TSchedule } from '@modelyard/contracts';
import Link from '@/components/project';
import { getMe, load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { jobAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { DataTable, Truncate, type Column } from '@/components/data-table';
import { JobsNav } from '../jobs-nav';
import { CreateScheduleForm } from './create-schedule-form';
import { ScheduleActions } from './schedule-actions';

export const metadata: Metadata = { title: 'Schedules' };

const SCHEDULE_COLUMNS: Column<TSchedule>[] = [
  { key: 'name', header: 'Name', sort: (s) => s.name, rowHeader: true, cell: (s) => s.name },
  {
    key: 'model',
    header: 'Model',
    sort: (s) => s.model,
    cell: (s) => <Link href={`/models/${encodeURIComponent(s.model)}`}>{s.model}</Link>,
  },
  { key: 'cron', header: 'Cron', nowrap: true, cell: (s) => <span className="mono">{s.cron}</span> },
  {
    key: 'input',
    header: 'Input prefix',
    sort: (s) => s.inputPrefix,
    cell: (s) => <Truncate text={s.inputPrefix} mono />,
  },
  {
    key: 'next',
    header: 'Next run',
    sort: (s) => (s.paused ? null : s.nextRunAt),
    nowrap: true,
    className: 'small',
    cell: (s) => (s.paused ? '—' : formatTime(s.nextRunAt)),
  },
  {
    key: 'last',
    header: 'Last run',
    sort: (s) => s.lastRunAt,
    nowrap: true,
    className: 'small',
    hideBelow: 'lg',
    cell: (s) => (s.lastRunAt ? formatTime(s.lastRunAt) : 'never'),
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
        <span className="badge badge-ok">active</span>
      ),
  },
  {
    key: 'actions',
    header: <span className="visually-hidden">Actions</span>,
    cell: (s) => <ScheduleActions id={s.id} name={s.name} paused={s.paused} />,
  },
];

export default async function SchedulesPage() {
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const { canWrite } = jobAbilities(me.data.role);
  const [schedules, models] = await Promise.all([
    load((api) => api.listSchedules()),
    canWrite ? load((api) => api.listModels({ limit: 200 })) : Promise.resolve(null),
  ]);

  return (
    <>
      <div className="page-header">
        <h1>Schedules</h1>
        <p className="muted">
          Scheduled scoring: on each cron tick, every new .csv or .jsonl file under the input prefix is scored once with
          the model&apos;s production version, as a batch job.
        </p>
      </div>
      <JobsNav current="schedules" />

      {!schedules.ok ? (
        <ErrorAlert message={schedules.message} />
      ) : schedules.data.length === 0 ? (
        <section className="card empty-state">
          <h2>No schedules yet</h2>
          <p className="muted">
            {canWrite ? 'Create one below.' : 'Schedules appear here once a scientist creates one.'}
          </p>
        </section>
      ) : (
        <section className="card">
          <DataTable
            label="Schedules"
            rows={schedules.data}
            rowKey={(s) => s.id}
            rowId={(s) => `schedule-${s.id}`}
            columns={canWrite ? SCHEDULE_COLUMNS : SCHEDULE_COLUMNS.filter((c) => c.key !== 'actions')}
            rowClassName={(s) => (s.paused ? 'row-inactive' : undefined)}
            className="schedules-table"
            pageSize={50}
            empty="No schedules yet."
          />
          <p className="small muted">
            Jobs a schedule started are listed on the <Link href="/jobs?type=batch_score">Jobs</Link> page, marked{' '}
            “scheduled”.
          </p>
        </section>
      )}

      {models ? (
        <section className="card" aria-labelledby="new-schedule-title">
          <h2 id="new-schedule-title">New schedule</h2>
          {!models.ok ? (
            <ErrorAlert message={models.message} />
          ) : models.data.items.length === 0 ? (
            <p className="muted">
              Register a model on the <Link href="/models">Models</Link> page first.
            </p>
          ) : (
            <CreateScheduleForm models={models.data.items.map((m) => m.name)} />
          )}
        </section>
      ) : null}
    </>
  );
}
