'use client';
import { useState } from 'react';
import type { TScheduleSpec } from '@modelyard/contracts';
import { ApiField, ApiForm } from '@/components/api-form';
import { text } from '@/components/form';

export function CreateScheduleForm({ models }: { models: string[] }) {
  const [columns, setColumns] = useState<'all' | 'id'>('all');
  const [created, setCreated] = useState<string | null>(null);

  function spec(form: FormData): TScheduleSpec {
    const entityColumn = text(form, 'entityColumn');
    return {
      name: text(form, 'name'),
      model: text(form, 'model'),
      cron: text(form, 'cron'),
      inputPrefix: text(form, 'inputPrefix'),
      output: columns === 'id' ? { columns: 'id', idColumn: text(form, 'idColumn') } : { columns: 'all' },
      ...(entityColumn ? { store: { entityColumn } } : {}),
    };
  }

  return (
    <ApiForm
      submitLabel="Create schedule"
      validate={(form) =>
        columns === 'id' && !text(form, 'idColumn') ? 'Name the id column to keep in the output.' : null
      }
      submit={(form, api) => {
        setCreated(null);
        return api.createSchedule(spec(form));
      }}
      onSuccess={(schedule) => {
        setCreated(schedule.name);
        setColumns('all');
      }}
      notice={created ? <>Schedule &ldquo;{created}&rdquo; created.</> : null}
    >
      <ApiField id="schedule-name" label="Name">
        <input name="name" type="text" required maxLength={64} autoComplete="off" placeholder="nightly" />
      </ApiField>
      <ApiField id="schedule-model" label="Model">
        <select name="model" required>
          {models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </ApiField>
      <ApiField id="schedule-cron" label="Cron" hint="minute hour day month weekday">
        <input
          name="cron"
          type="text"
          required
          maxLength={100}
          autoComplete="off"
          placeholder="0 3 * * *"
          className="mono"
          pattern="\s*(\S+\s+){4}\S+\s*"
          title='five fields, e.g. "0 3 * * *" for every day at 03:00'
        />
      </ApiField>
      <ApiField id="schedule-prefix" label="Input prefix" size="wide">
        <input
          name="inputPrefix"
          type="text"
          required
          maxLength={2048}
          autoComplete="off"
          placeholder="s3://bucket/incoming/"
        />
      </ApiField>
      <fieldset className="field field-wide radio-row">
        <legend>Output columns</legend>
        <label className="radio">
          <input
            type="radio"
            name="columns"
            value="all"
            checked={columns === 'all'}
            onChange={() => setColumns('all')}
          />
          Every input column
        </label>
        <label className="radio">
          <input type="radio" name="columns" value="id" checked={columns === 'id'} onChange={() => setColumns('id')} />
          An id column
        </label>
      </fieldset>
      {columns === 'id' ? (
        <ApiField id="schedule-id-column" label="Id column">
          <input name="idColumn" type="text" required maxLength={128} autoComplete="off" />
        </ApiField>
      ) : null}
      <ApiField id="schedule-entity-column" label="Prediction store entity column (optional)" size="wide">
        <input name="entityColumn" type="text" maxLength={128} autoComplete="off" />
      </ApiField>
    </ApiForm>
  );
}
