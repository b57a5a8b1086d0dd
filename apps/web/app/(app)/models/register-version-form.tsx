'use client';
import { useEffect, useRef, useState, useTransition, type FormEvent } from 'react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import {
  ApiError,
  ZModelName,
  ZReferenceDataset,
  type TModelVersion,
  type TReferenceDataset,
} from '@modelyard/contracts';
import { browserApi, errorMessage } from '@/lib/api.browser';
import { parseMetrics, parsePairs, uploadVersion, type UploadProgress } from '@/lib/upload';
import { ErrorAlert } from '@/components/alert';
import { Field, SubmitButton } from '@/components/form';
import { UploadProgressBar } from '@/components/upload-progress';
import { StatusBadge } from '@/components/registry-badges';

type Phase =
  | { kind: 'idle' }
  | { kind: 'uploading'; fileName: string; progress: UploadProgress | null }
  | { kind: 'validating'; version: TModelVersion }
  | { kind: 'done'; version: TModelVersion }
  | { kind: 'stalled'; version: TModelVersion };

const POLL_MS = 1000;
/** Validation takes a second or two; past this the worker is probably down, and polling forever helps no one. */
const POLL_GIVE_UP_MS = 3 * 60_000;

/**
 * Upload an ONNX file as a new version: progress while the bytes travel, then the version's status as the
 * worker validates it (pending -> ready | failed). `model` fixes the model name (on a model's own page).
 */
export function RegisterVersionForm({ model, showModelLink = false }: { model?: string; showModelLink?: boolean }) {
  const router = useRouter();
  const [, startTransition] = useTransition();
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [error, setError] = useState<string | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const refresh = () => startTransition(() => router.refresh());
  const busy = phase.kind === 'uploading' || phase.kind === 'validating';

  function handleError(e: unknown) {
    if (e instanceof ApiError && e.status === 401) {
      router.push(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
    }
    setError(errorMessage(e));
  }

  /**
   * The API creates a missing model on its first upload, with an empty description (it creates nothing when the
   * upload fails, so the model is not created up front here). Give a new model the description typed for its
   * first version; a description someone already wrote is never overwritten.
   */
  async function describeNewModel(name: string, description: string) {
    try {
      const api = browserApi();
      const m = await api.getModel(name);
      if (m.description === '') await api.updateModel(name, { description });
    } catch (e) {
      handleError(e);
    }
  }

  async function waitForValidation(version: TModelVersion) {
    const api = browserApi();
    const started = Date.now();
    let current = version;
    while (current.status === 'pending') {
      if (Date.now() - started > POLL_GIVE_UP_MS) {
        setPhase({ kind: 'stalled', version: current });
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (!alive.current) return;
      current = await api.getVersion(current.model, current.version);
      if (!alive.current) return;
    }
    setPhase({ kind: 'done', version: current });
    refresh();
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    setError(null);

    const name = ZModelName.safeParse(model ?? String(form.get('model') ?? ''));
    if (!name.success) {
      setError(`Model name: ${name.error.issues[0]?.message ?? 'invalid'}.`);
      return;
    }
    const file = form.get('file');
    if (!(file instanceof File) || file.size === 0) {
      setError('Choose a non-empty .onnx file to upload.');
      return;
    }
    const tags = parsePairs(String(form.get('tags') ?? ''), 'Tags');
    if (!tags.ok) return setError(tags.message);
    const metrics = parseMetrics(String(form.get('metrics') ?? ''));
    if (!metrics.ok) return setError(metrics.message);

    const reference = await readReference(form.get('reference'));
    if (!reference.ok) return setError(reference.message);

    const description = String(form.get('description') ?? '').trim();
    setPhase({ kind: 'uploading', fileName: file.name, progress: null });
    let version: TModelVersion;
    try {
      version = await uploadVersion(
        name.data,
        {
          description,
          tags: tags.value,
          metrics: metrics.value,
          ...(reference.value && { reference: reference.value }),
        },
        file,
        (progress) => {
          if (alive.current) setPhase({ kind: 'uploading', fileName: file.name, progress });
        },
      );
    } catch (e) {
      setPhase({ kind: 'idle' });
      handleError(e);
      return;
    }
    if (!alive.current) return;
    formEl.reset();
    if (!model && version.version === 1 && description) await describeNewModel(version.model, description);
    setPhase({ kind: 'validating', version });
    // The new pending row (and, for a first version, the new model) shows up in the lists right away.
    refresh();
    try {
      await waitForValidation(version);
    } catch (e) {
      setPhase({ kind: 'stalled', version });
      handleError(e);
    }
  }

  const idPrefix = model ? `register-${model}` : 'register-new';
  return (
    <form className="form-grid register-form" onSubmit={onSubmit} aria-describedby={`${idPrefix}-status`}>
      {model ? null : (
        <Field
          id={`${idPrefix}-model`}
          label="Model name"
          hint="Created on its first version if it does not exist yet."
        >
          <input
            name="model"
            type="text"
            required
            maxLength={100}
            autoComplete="off"
            placeholder="fraud-detector"
            pattern="[a-z0-9][a-z0-9._\-]*"
            title='lower-case letters, digits, ".", "_" and "-", starting with a letter or digit'
          />
        </Field>
      )}
      <Field id={`${idPrefix}-file`} label="ONNX file" size={model ? 'wide' : undefined}>
        <input name="file" type="file" accept=".onnx,application/octet-stream" required />
      </Field>
      <Field
        id={`${idPrefix}-reference`}
        label="Drift reference (JSON, optional)"
        size="wide"
        hint={
          <>
            {'{"feature_names": […], "rows": [[…], …]}'}, e.g. a sample of the training data: drift is measured against
            it.
          </>
        }
      >
        <input name="reference" type="file" accept=".json,application/json" />
      </Field>
      <Field id={`${idPrefix}-description`} label="Description" size="full">
        <input name="description" type="text" maxLength={10_000} autoComplete="off" />
      </Field>
      <Field id={`${idPrefix}-tags`} label="Tags (key=value, one per line)" size="wide">
        <textarea name="tags" rows={3} placeholder={'team=fraud\ndataset=2024-q4'} />
      </Field>
      <Field id={`${idPrefix}-metrics`} label="Metrics (key=number, one per line)" size="wide">
        <textarea name="metrics" rows={3} placeholder={'accuracy=0.953\nf1=0.94'} />
      </Field>
      <div className="form-actions">
        <SubmitButton pending={busy} pendingText={phase.kind === 'validating' ? 'Validating…' : 'Uploading…'}>
          Upload and register
        </SubmitButton>
      </div>
      <ErrorAlert message={error} />
      <div id={`${idPrefix}-status`} className="upload-status field-full" role="status" aria-live="polite">
        <UploadStatus phase={phase} showModelLink={showModelLink} />
      </div>
    </form>
  );
}

function UploadStatus({ phase, showModelLink }: { phase: Phase; showModelLink: boolean }) {
  switch (phase.kind) {
    case 'idle':
      return null;
    case 'uploading':
      return <UploadProgressBar fileName={phase.fileName} progress={phase.progress} />;
    case 'validating':
      return (
        <p className="notice">
          Uploaded as version {phase.version.version} of <strong>{phase.version.model}</strong>.{' '}
          <StatusBadge status="pending" /> Validating the model…
        </p>
      );
    case 'stalled':
      return (
        <p className="notice">
          Version {phase.version.version} of <strong>{phase.version.model}</strong> is still{' '}
          <StatusBadge status={phase.version.status} />. It is validated in the background; reload the page later.
        </p>
      );
    case 'done': {
      const v = phase.version;
      const link = showModelLink ? (
        <>
          {' '}
          <Link href={`/models/${encodeURIComponent(v.model)}`}>Open {v.model}</Link>
        </>
      ) : null;
      return v.status === 'ready' ? (
        <p className="notice notice-ok">
          Version {v.version} of <strong>{v.model}</strong> is <StatusBadge status="ready" />.{link}
        </p>
      ) : (
        <p className="notice notice-error">
          Version {v.version} of <strong>{v.model}</strong> <StatusBadge status="failed" />:{' '}
          {sentence(v.failureReason ?? 'no reason given')}
          {link}
        </p>
      );
    }
  }
}

/**
 * The optional drift reference: a JSON file shaped like the shared fixtures' reference.json (other keys, such as
 * `target` or `stats`, are dropped). It travels inside the `spec` field, so it is checked here with the same schema
 * the API uses, and a bad file is named before any upload starts.
 */
async function readReference(
  file: FormDataEntryValue | null,
): Promise<{ ok: true; value: TReferenceDataset | null } | { ok: false; message: string }> {
  if (!(file instanceof File) || file.size === 0) return { ok: true, value: null };
  let json: unknown;
  try {
    json = JSON.parse(await file.text());
  } catch {
    return { ok: false, message: `Drift reference: ${file.name} is not JSON.` };
  }
  const parsed = ZReferenceDataset.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      message: `Drift reference: ${issue ? `${issue.path.join('.') || 'file'}: ${issue.message}` : 'invalid'}.`,
    };
  }
  return { ok: true, value: { feature_names: parsed.data.feature_names, rows: parsed.data.rows } };
}

/** Reasons come from the API with or without a final full stop. */
function sentence(text: string): string {
  return /[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
}
