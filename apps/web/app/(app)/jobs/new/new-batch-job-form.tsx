'use client';
import { useEffect, useRef, useState } from 'react';
import { useRouter } from 'next/navigation';
import {
  pageInProject,
  type ModelyardClient,
  type TBatchJobSpec,
  type TJob,
  type TModelVersion,
} from '@modelyard/contracts';
import { browserApi, errorMessage } from '@/lib/api.browser';
import { uploadBatchJob, type UploadProgress } from '@/lib/upload';
import { ApiField, ApiForm, type Invalid } from '@/components/api-form';
import { UploadProgressBar } from '@/components/upload-progress';
import { useProject } from '@/components/project';

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
  const project = useProject();
  const [model, setModel] = useState(models.some((m) => m.name === initialModel) ? initialModel! : models[0]!.name);
  const [versions, setVersions] = useState<Versions>({ state: 'loading' });
  const [aliases, setAliases] = useState<[string, number][]>([]);
  const [source, setSource] = useState<'upload' | 'uri'>('upload');
  const [columns, setColumns] = useState<'all' | 'id'>('all');
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
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
  const text = (data: FormData, name: string) => String(data.get(name) ?? '').trim();

  /** What the API would refuse anyway, said before the upload starts (and beside the field). */
  function validate(data: FormData): Invalid {
    const field = (name: string, message: string) => ({ message, fields: { [name]: message } });
    if (columns === 'id' && !text(data, 'idColumn'))
      return field('idColumn', 'Name the id column to keep in the output.');
    if (source === 'upload') {
      const file = data.get('file');
      if (!(file instanceof File) || file.size === 0)
        return field('file', 'Choose a non-empty .csv or .jsonl file to upload.');
    } else if (!text(data, 'inputUri')) {
      return field('inputUri', 'Name the input file in storage, e.g. s3://bucket/path/input.csv.');
    }
    return null;
  }

  /** The upload goes by XHR (for its progress) rather than the API client; ApiForm only needs the promise. */
  async function submit(data: FormData, api: ModelyardClient): Promise<TJob> {
    const idColumn = text(data, 'idColumn');
    const entityColumn = text(data, 'entityColumn');
    const spec: Omit<TBatchJobSpec, 'inputUri'> = {
      model,
      ...parseSelector(text(data, 'selector')),
      output: {
        ...(columns === 'id' ? { columns: 'id' as const, idColumn } : { columns: 'all' as const }),
        // Explanations (issue 18): a contribution column per feature (and class) and the base value.
        ...(data.get('contributions') === 'on' ? { contributions: true } : {}),
      },
      ...(entityColumn ? { store: { entityColumn } } : {}),
    };
    try {
      if (source === 'upload') {
        const file = data.get('file') as File;
        setPhase({ kind: 'uploading', fileName: file.name, progress: null });
        return await uploadBatchJob(spec, file, (progress) => {
          if (alive.current) setPhase({ kind: 'uploading', fileName: file.name, progress });
        });
      }
      setPhase({ kind: 'submitting' });
      return await api.createBatchJob({ ...spec, inputUri: text(data, 'inputUri') });
    } catch (e) {
      if (alive.current) setPhase({ kind: 'idle' });
      throw e;
    }
  }

  function onSuccess(job: TJob) {
    if (!alive.current) return;
    setPhase({ kind: 'done', job });
    router.push(pageInProject(project, `/jobs/${job.id}`));
  }

  return (
    <ApiForm
      className="job-form"
      describedBy="new-job-status"
      validate={validate}
      submit={submit}
      onSuccess={onSuccess}
      reset={false}
      submitLabel="Start batch job"
      pendingLabel={phase.kind === 'uploading' ? 'Uploading…' : 'Starting…'}
      // After the job is accepted the button stays off while its page opens.
      submitDisabled={phase.kind === 'done'}
      actionsClassName="field-full"
    >
      <ApiField id="job-model" label="Model">
        <select name="model" value={model} onChange={(e) => setModel(e.target.value)} required>
          {models.map((m) => (
            <option key={m.name} value={m.name}>
              {m.name}
            </option>
          ))}
        </select>
      </ApiField>
      <ApiField
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
      </ApiField>

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
        <ApiField id="job-file" label="Input file (.csv with a header row, or .jsonl)" size="wide">
          <input name="file" type="file" accept=".csv,.jsonl,text/csv,application/x-ndjson" required />
        </ApiField>
      ) : (
        <ApiField
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
        </ApiField>
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
        <ApiField id="job-id-column" label="Id column">
          <input name="idColumn" type="text" required maxLength={128} autoComplete="off" placeholder="id" />
        </ApiField>
      ) : null}
      <label className="checkbox field-full">
        <input type="checkbox" name="contributions" />
        Add contribution columns: each feature&apos;s share of each prediction (needs the version&apos;s reference
        dataset)
      </label>
      <ApiField
        id="job-entity-column"
        label="Prediction store entity column (optional)"
        size="wide"
        hint="Also keep each row's prediction, looked up by this column's value."
      >
        <input name="entityColumn" type="text" maxLength={128} autoComplete="off" />
      </ApiField>

      <div id="new-job-status" className="upload-status field-full" role="status" aria-live="polite">
        <SubmitStatus phase={phase} />
      </div>
    </ApiForm>
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
