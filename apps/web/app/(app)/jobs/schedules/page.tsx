import type { Metadata } from 'next';
import Link from 'next/link';
import { getMe, load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { jobAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { JobsNav } from '../jobs-nav';
import { CreateScheduleForm } from './create-schedule-form';
import { ScheduleActions } from './schedule-actions';

export const metadata: Metadata = { title: 'Schedules' };

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
          Scheduled scoring: on each cron tick, every new .csv or .jsonl file under the input prefix is scored once
          with the model&apos;s production version, as a batch job.
        </p>
      </div>
      <JobsNav current="schedules" />

      {!schedules.ok ? (
        <ErrorAlert message={schedules.message} />
      ) : schedules.data.length === 0 ? (
        <section className="card empty-state">
          <h2>No schedules yet</h2>
          <p className="muted">{canWrite ? 'Create one below.' : 'Schedules appear here once a scientist creates one.'}</p>
        </section>
      ) : (
        <section className="card">
          <div className="table-scroll">
            <table className="table schedules-table" aria-label="Schedules">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Model</th>
                  <th scope="col">Cron</th>
                  <th scope="col">Input prefix</th>
                  <th scope="col">Next run</th>
                  <th scope="col">Last run</th>
                  <th scope="col">State</th>
                  {canWrite ? <th scope="col"><span className="visually-hidden">Actions</span></th> : null}
                </tr>
              </thead>
              <tbody>
                {schedules.data.map((s) => (
                  <tr key={s.id} id={`schedule-${s.id}`} className={s.paused ? 'row-inactive' : undefined}>
                    <th scope="row" className="nowrap row-title">{s.name}</th>
                    <td className="nowrap"><Link href={`/models/${encodeURIComponent(s.model)}`}>{s.model}</Link></td>
                    <td className="mono nowrap">{s.cron}</td>
                    <td className="mono small break">{s.inputPrefix}</td>
                    <td className="nowrap small">{s.paused ? '—' : formatTime(s.nextRunAt)}</td>
                    <td className="nowrap small">{s.lastRunAt ? formatTime(s.lastRunAt) : 'never'}</td>
                    <td>{s.paused ? <span className="badge badge-job-cancelled">paused</span> : <span className="badge badge-ok">active</span>}</td>
                    {canWrite ? <td><ScheduleActions id={s.id} name={s.name} paused={s.paused} /></td> : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="small muted">Jobs a schedule started are listed on the <Link href="/jobs?type=batch_score">Jobs</Link> page, marked “scheduled”.</p>
        </section>
      )}

      {models ? (
        <section className="card" aria-labelledby="new-schedule-title">
          <h2 id="new-schedule-title">New schedule</h2>
          {!models.ok ? (
            <ErrorAlert message={models.message} />
          ) : models.data.items.length === 0 ? (
            <p className="muted">Register a model on the <Link href="/models">Models</Link> page first.</p>
          ) : (
            <CreateScheduleForm models={models.data.items.map((m) => m.name)} />
          )}
        </section>
      ) : null}
    </>
  );
}
