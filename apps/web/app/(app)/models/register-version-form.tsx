'use client';
import { useEffect, useRef, useState, useTransition } from 'react';
import Link from '@/components/project';
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
import { ApiField, ApiForm, type Invalid } from '@/components/api-form';
import { UploadProgressBar } from '@/components/upload-progress';
import { StatusBadge } from '@/components/registry-badges';

type Phase =
  | { kind: 'idle' }
  | { kind: 'uploading'; fileName: string; progress: UploadProgress | null }
  | { kind: 'validating'; version: TModelVersion }
  | { kind: 'done'; version: TModelVersion }
  /** `reason`: why the status could not be followed (else validation just takes too long). */
  | { kind: 'stalled'; version: TModelVersion; reason?: string };

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
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const refresh = () => startTransition(() => router.refresh());

  /** After the upload (ApiForm has shown the upload's own errors): a lost session still leads to the login page. */
  function afterUploadError(e: unknown, version: TModelVersion) {
    if (e instanceof ApiError && e.status === 401) {
      router.push(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
    }
    setPhase({ kind: 'stalled', version, reason: errorMessage(e) });
  }

  /**
   * The API creates a missing model on its first upload, with an empty description (it creates nothing when the
   * upload fails, so the model is not created up front here). Give a new model the description typed for its
   * first version; a description someone already wrote is never overwritten.
   */
  async function describeNewModel(name: string, description: string) {
    const api = browserApi();
    const m = await api.getModel(name);
    if (m.description === '') await api.updateModel(name, { description });
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

  /** Everything that can be checked before the bytes travel, each message beside its field. */
  async function validate(data: FormData): Promise<Invalid> {
    const field = (name: string, message: string) => ({ message, fields: { [name]: message } });
    const name = ZModelName.safeParse(model ?? String(data.get('model') ?? ''));
    if (!name.success) return field('model', `Model name: ${name.error.issues[0]?.message ?? 'invalid'}.`);
    const file = data.get('file');
    if (!(file instanceof File) || file.size === 0) return field('file', 'Choose a non-empty .onnx file to upload.');
    const tags = parsePairs(String(data.get('tags') ?? ''), 'Tags');
    if (!tags.ok) return field('tags', tags.message);
    const metrics = parseMetrics(String(data.get('metrics') ?? ''));
    if (!metrics.ok) return field('metrics', metrics.message);
    const reference = await readReference(data.get('reference'));
    if (!reference.ok) return field('reference', reference.message);
    return null;
  }

  /** The upload goes by XHR (for its progress); validate() has checked every value parsed here. */
  async function submit(data: FormData): Promise<{ version: TModelVersion; description: string }> {
    const file = data.get('file') as File;
    const tags = parsePairs(String(data.get('tags') ?? ''), 'Tags');
    const metrics = parseMetrics(String(data.get('metrics') ?? ''));
    const reference = await readReference(data.get('reference'));
    const description = String(data.get('description') ?? '').trim();
    setPhase({ kind: 'uploading', fileName: file.name, progress: null });
    try {
      const version = await uploadVersion(
        model ?? String(data.get('model') ?? ''),
        {
          description,
          tags: tags.ok ? tags.value : {},
          metrics: metrics.ok ? metrics.value : {},
          ...(reference.ok && reference.value ? { reference: reference.value } : {}),
        },
        file,
        (progress) => {
          if (alive.current) setPhase({ kind: 'uploading', fileName: file.name, progress });
        },
      );
      return { version, description };
    } catch (e) {
      if (alive.current) setPhase({ kind: 'idle' });
      throw e;
    }
  }

  /** Uploaded (the form is reset and the lists show the pending row): now follow the worker's validation. */
  async function onUploaded({ version, description }: { version: TModelVersion; description: string }) {
    if (!alive.current) return;
    setPhase({ kind: 'validating', version });
    try {
      if (!model && version.version === 1 && description) await describeNewModel(version.model, description);
      await waitForValidation(version);
    } catch (e) {
      afterUploadError(e, version);
    }
  }

  const idPrefix = model ? `register-${model}` : 'register-new';
  return (
    <ApiForm
      className="register-form"
      describedBy={`${idPrefix}-status`}
      validate={validate}
      submit={submit}
      onSuccess={(r) => void onUploaded(r)}
      submitLabel={phase.kind === 'validating' ? 'Validating…' : 'Upload and register'}
      pendingLabel="Uploading…"
      submitDisabled={phase.kind === 'validating'}
    >
      {model ? null : (
        <ApiField
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
        </ApiField>
      )}
      <ApiField id={`${idPrefix}-file`} label="ONNX file" size={model ? 'wide' : undefined}>
        <input name="file" type="file" accept=".onnx,application/octet-stream" required />
      </ApiField>
      <ApiField
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
      </ApiField>
      <ApiField id={`${idPrefix}-description`} label="Description" size="full">
        <input name="description" type="text" maxLength={10_000} autoComplete="off" />
      </ApiField>
      <ApiField id={`${idPrefix}-tags`} label="Tags (key=value, one per line)" size="wide">
        <textarea name="tags" rows={3} placeholder={'team=fraud\ndataset=2024-q4'} />
      </ApiField>
      <ApiField id={`${idPrefix}-metrics`} label="Metrics (key=number, one per line)" size="wide">
        <textarea name="metrics" rows={3} placeholder={'accuracy=0.953\nf1=0.94'} />
      </ApiField>
      <div id={`${idPrefix}-status`} className="upload-status field-full" role="status" aria-live="polite">
        <UploadStatus phase={phase} showModelLink={showModelLink} />
      </div>
    </ApiForm>
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
          {phase.reason ? ` (${sentence(phase.reason)})` : ''}
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
