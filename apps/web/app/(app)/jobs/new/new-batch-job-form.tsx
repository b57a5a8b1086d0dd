'use client';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useRouter } from 'next/navigation';
import { ApiError, type TBatchJobSpec, type TJob, type TModelVersion } from '@modelyard/contracts';
import { browserApi, errorMessage } from '@/lib/api.browser';
import { uploadBatchJob, type UploadProgress } from '@/lib/upload';
import { ErrorAlert } from '@/components/alert';
import { Field, SubmitButton } from '@/components/form';
import { UploadProgressBar } from '@/components/upload-progress';

export interface ModelOption {
  name: string;
  productionVersion: number | null;
}

type Versions = { state: 'loading' } | { state: 'ok'; versions: TModelVersion[] } | { state: 'error'; message: string };
type Phase =
  | { kind: 'idle' }
  | { kind: 'uploading'; fileName: string; progress: UploadProgress | null }
  | { kind: 'submitting' }
  | { kind: 'done'; job: TJob };

/** `v:3` = version 3, `a:champion` = alias, '' = the production version (the API's default). */
function parseSelector(value: string): Pick<TBatchJobSpec, 'version' | 'alias'> {
  if (value.startsWith('v:')) return { version: Number(value.slice(2)) };
  if (value.startsWith('a:')) return { alias: value.slice(2) };
  return {};
}

/**
 * A batch scoring job: model and version, the input (uploaded with progress, or a file already in storage),
 * the output's columns and, optionally, the prediction store. On success the job's own page takes over.
 */
export function NewBatchJobForm({ models, initialModel }: { models: ModelOption[]; initialModel?: string }) {
  const router = useRouter();
  const [model, setModel] = useState(models.some((m) => m.name === initialModel) ? initialModel! : models[0]!.name);
  const [versions, setVersions] = useState<Versions>({ state: 'loading' });
  const [aliases, setAliases] = useState<[string, number][]>([]);
  const [source, setSource] = useState<'upload' | 'uri'>('upload');
  const [columns, setColumns] = useState<'all' | 'id'>('all');
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [error, setError] = useState<string | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  // The versions and aliases of the chosen model, to pin one instead of whatever is in Production.
  useEffect(() => {
    let current = true;
    setVersions({ state: 'loading' });
    setAliases([]);
    Promise.all([browserApi().listVersions(model), browserApi().getModel(model)]).then(
      ([list, m]) => {
        if (!current) return;
        setVersions({
          state: 'ok',
          versions: list.filter((v) => v.status === 'ready').sort((a, b) => b.version - a.version),
        });
        setAliases(Object.entries(m.aliases).sort(([a], [b]) => a.localeCompare(b)));
      },
      (e: unknown) => {
        if (current) setVersions({ state: 'error', message: errorMessage(e) });
      },
    );
    return () => {
      current = false;
    };
  }, [model]);

  const production = models.find((m) => m.name === model)?.productionVersion ?? null;
  const busy = phase.kind === 'uploading' || phase.kind === 'submitting' || phase.kind === 'done';

  function handleError(e: unknown) {
    if (e instanceof ApiError && e.status === 401) {
      router.push(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
    }
    setError(errorMessage(e));
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const idColumn = text('idColumn');
    const entityColumn = text('entityColumn');
    if (columns === 'id' && !idColumn) return setError('Name the id column to keep in the output.');
    const spec: Omit<TBatchJobSpec, 'inputUri'> = {
      model,
      ...parseSelector(text('selector')),
      output: columns === 'id' ? { columns: 'id', idColumn } : { columns: 'all' },
      ...(entityColumn ? { store: { entityColumn } } : {}),
    };

    let job: TJob;
    try {
      if (source === 'upload') {
        const file = form.get('file');
        if (!(file instanceof File) || file.size === 0)
          return setError('Choose a non-empty .csv or .jsonl file to upload.');
        setPhase({ kind: 'uploading', fileName: file.name, progress: null });
        job = await uploadBatchJob(spec, file, (progress) => {
          if (alive.current) setPhase({ kind: 'uploading', fileName: file.name, progress });
        });
      } else {
        const inputUri = text('inputUri');
        if (!inputUri) return setError('Name the input file in storage, e.g. s3://bucket/path/input.csv.');
        setPhase({ kind: 'submitting' });
        job = await browserApi().createBatchJob({ ...spec, inputUri });
      }
    } catch (e) {
      setPhase({ kind: 'idle' });
      handleError(e);
      return;
    }
    if (!alive.current) return;
    setPhase({ kind: 'done', job });
    router.push(`/jobs/${job.id}`);
  }

  return (
    <form className="form-grid job-form" onSubmit={onSubmit} aria-describedby="new-job-status">
      <Field id="job-model" label="Model">
        <select name="model" value={model} onChange={(e) => setModel(e.target.value)} required>
          {models.map((m) => (
            <option key={m.name} value={m.name}>
              {m.name}
            </option>
          ))}
        </select>
      </Field>
      <Field
        id="job-selector"
        label="Version"
        hint={
          versions.state === 'error' ? `Cannot list versions: ${versions.message}` : 'Fixed when the job is accepted.'
        }
      >
        <select name="selector" key={model} defaultValue="" disabled={versions.state === 'loading'}>
          <option value="">
            {production !== null ? `Production (v${production})` : 'Production (none yet: choose a version)'}
          </option>
          {aliases.map(([alias, v]) => (
            <option key={alias} value={`a:${alias}`}>
              @{alias} (v{v})
            </option>
          ))}
          {versions.state === 'ok'
            ? versions.versions.map((v) => (
                <option key={v.version} value={`v:${v.version}`}>
                  Version {v.version}
                </option>
              ))
            : null}
        </select>
      </Field>

      <fieldset className="field field-full radio-row">
        <legend>Input</legend>
        <label className="radio">
          <input
            type="radio"
            name="source"
            value="upload"
            checked={source === 'upload'}
            onChange={() => setSource('upload')}
          />
          Upload a file
        </label>
        <label className="radio">
          <input type="radio" name="source" value="uri" checked={source === 'uri'} onChange={() => setSource('uri')} />A
          file already in storage
        </label>
      </fieldset>
      {source === 'upload' ? (
        <Field id="job-file" label="Input file (.csv with a header row, or .jsonl)" size="wide">
          <input name="file" type="file" accept=".csv,.jsonl,text/csv,application/x-ndjson" required />
        </Field>
      ) : (
        <Field
          id="job-uri"
          label="Storage URI"
          size="wide"
          hint="s3://, azure:// or file:// (under the server's storage folder). The output is written beside it."
        >
          <input
            name="inputUri"
            type="text"
            required
            maxLength={2048}
            autoComplete="off"
            placeholder="s3://bucket/path/input.csv"
          />
        </Field>
      )}

      <fieldset className="field field-full radio-row">
        <legend>Output columns</legend>
        <label className="radio">
          <input
            type="radio"
            name="columns"
            value="all"
            checked={columns === 'all'}
            onChange={() => setColumns('all')}
          />
          Every input column, then the predictions
        </label>
        <label className="radio">
          <input type="radio" name="columns" value="id" checked={columns === 'id'} onChange={() => setColumns('id')} />
          An id column, then the predictions
        </label>
      </fieldset>
      {columns === 'id' ? (
        <Field id="job-id-column" label="Id column">
          <input name="idColumn" type="text" required maxLength={128} autoComplete="off" placeholder="id" />
        </Field>
      ) : null}
      <Field
        id="job-entity-column"
        label="Prediction store entity column (optional)"
        size="wide"
        hint="Also keep each row's prediction, looked up by this column's value."
      >
        <input name="entityColumn" type="text" maxLength={128} autoComplete="off" />
      </Field>

      <div className="form-actions field-full">
        <SubmitButton pending={busy} pendingText={phase.kind === 'uploading' ? 'Uploading…' : 'Starting…'}>
          Start batch job
        </SubmitButton>
      </div>
      <ErrorAlert message={error} />
      <div id="new-job-status" className="upload-status field-full" role="status" aria-live="polite">
        <SubmitStatus phase={phase} />
      </div>
    </form>
  );
}

function SubmitStatus({ phase }: { phase: Phase }) {
  if (phase.kind === 'uploading') return <UploadProgressBar fileName={phase.fileName} progress={phase.progress} />;
  if (phase.kind === 'done')
    return (
      <p className="notice notice-ok">
        Job {phase.job.id.slice(0, 8)} is {phase.job.status}. Opening it…
      </p>
    );
  return null;
}
