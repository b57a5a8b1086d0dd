'use client';
import { useState, type FormEvent } from 'react';
import type { TScheduleSpec } from '@modelyard/contracts';
import { useApiAction } from '@/lib/use-api-action';
import { ErrorAlert } from '@/components/alert';

export function CreateScheduleForm({ models }: { models: string[] }) {
  const { run, pending, error, setError } = useApiAction();
  const [columns, setColumns] = useState<'all' | 'id'>('all');
  const [created, setCreated] = useState<string | null>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const idColumn = text('idColumn');
    const entityColumn = text('entityColumn');
    if (columns === 'id' && !idColumn) return setError('Name the id column to keep in the output.');
    const spec: TScheduleSpec = {
      name: text('name'),
      model: text('model'),
      cron: text('cron'),
      inputPrefix: text('inputPrefix'),
      output: columns === 'id' ? { columns: 'id', idColumn } : { columns: 'all' },
      ...(entityColumn ? { store: { entityColumn } } : {}),
    };
    setCreated(null);
    const r = await run((api) => api.createSchedule(spec));
    if (r.ok) {
      setCreated(r.data.name);
      formEl.reset();
      setColumns('all');
    }
  }

  return (
    <form className="form-grid" onSubmit={onSubmit}>
      <div className="field">
        <label htmlFor="schedule-name">Name</label>
        <input id="schedule-name" name="name" type="text" required maxLength={64} autoComplete="off" placeholder="nightly" />
      </div>
      <div className="field">
        <label htmlFor="schedule-model">Model</label>
        <select id="schedule-model" name="model" required>
          {models.map((m) => <option key={m} value={m}>{m}</option>)}
        </select>
      </div>
      <div className="field">
        <label htmlFor="schedule-cron">Cron</label>
        <input
          id="schedule-cron" name="cron" type="text" required maxLength={100} autoComplete="off" placeholder="0 3 * * *"
          className="mono" pattern="\s*(\S+\s+){4}\S+\s*" title='five fields, e.g. "0 3 * * *" for every day at 03:00'
          aria-describedby="schedule-cron-hint"
        />
        <span id="schedule-cron-hint" className="hint">minute hour day month weekday</span>
      </div>
      <div className="field field-wide">
        <label htmlFor="schedule-prefix">Input prefix</label>
        <input id="schedule-prefix" name="inputPrefix" type="text" required maxLength={2048} autoComplete="off" placeholder="s3://bucket/incoming/" />
      </div>
      <fieldset className="field field-wide radio-row">
        <legend>Output columns</legend>
        <label className="radio">
          <input type="radio" name="columns" value="all" checked={columns === 'all'} onChange={() => setColumns('all')} />
          Every input column
        </label>
        <label className="radio">
          <input type="radio" name="columns" value="id" checked={columns === 'id'} onChange={() => setColumns('id')} />
          An id column
        </label>
      </fieldset>
      {columns === 'id' ? (
        <div className="field">
          <label htmlFor="schedule-id-column">Id column</label>
          <input id="schedule-id-column" name="idColumn" type="text" required maxLength={128} autoComplete="off" />
        </div>
      ) : null}
      <div className="field field-wide">
        <label htmlFor="schedule-entity-column">Prediction store entity column (optional)</label>
        <input id="schedule-entity-column" name="entityColumn" type="text" maxLength={128} autoComplete="off" />
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={pending}>Create schedule</button>
      </div>
      <ErrorAlert message={error} />
      {created ? <p className="notice notice-ok field-full" role="status">Schedule &ldquo;{created}&rdquo; created.</p> : null}
    </form>
  );
}
