'use client';
import type { TProjectQuotas } from '@modelyard/contracts';
import { browserApi } from '@/lib/api.browser';
import { QUOTA_KEYS, QUOTA_LABELS } from '@/lib/project-text';
import { ApiField, ApiForm } from '@/components/api-form';
import { ConfirmButton } from '@/components/confirm-button';
import { text } from '@/components/form';

const QUOTA_HINTS: Record<keyof TProjectQuotas, string> = {
  maxVersions: 'Versions across its models.',
  maxStoredBytes: 'Bytes of artifacts and job files.',
  maxRequestsPerSecond: 'Across all its keys.',
  maxConcurrentJobs: 'Queued or running at once.',
};

/** The quota fields of a form: an empty field is no limit (null), anything else a whole number. */
function quotasOf(form: FormData): TProjectQuotas {
  const out = {} as TProjectQuotas;
  for (const k of QUOTA_KEYS) {
    const raw = text(form, `quotas.${k}`);
    out[k] = raw === '' ? null : Number(raw);
  }
  return out;
}

function QuotaFields({ idPrefix, quotas }: { idPrefix: string; quotas?: TProjectQuotas }) {
  return (
    <>
      {QUOTA_KEYS.map((k) => (
        <ApiField key={k} id={`${idPrefix}-${k}`} label={QUOTA_LABELS[k]} hint={`${QUOTA_HINTS[k]} Empty: no limit.`}>
          <input name={`quotas.${k}`} type="number" min={0} step={1} defaultValue={quotas?.[k] ?? ''} />
        </ApiField>
      ))}
    </>
  );
}

/** A new project (platform admins): its name is its URL and storage prefix, so it never changes. */
export function CreateProjectForm() {
  return (
    <ApiForm
      label="Create project"
      submitLabel="Create project"
      submit={(form, api) =>
        api.createProject({
          name: text(form, 'name'),
          description: String(form.get('description') ?? ''),
          quotas: quotasOf(form),
        })
      }
    >
      <ApiField id="project-name" label="Name" hint="Lower-case letters, digits and '-'; it cannot be changed.">
        <input name="name" type="text" required maxLength={63} pattern="[a-z0-9][a-z0-9\-]*" autoComplete="off" />
      </ApiField>
      <ApiField id="project-description" label="Description" size="wide">
        <input name="description" type="text" maxLength={2000} autoComplete="off" />
      </ApiField>
      <QuotaFields idPrefix="project-new" />
    </ApiForm>
  );
}

/** A project's description and quotas, saved in that project (`/v1/projects/{p}`), whichever page this is on. */
export function EditProjectForm(props: { name: string; description: string; quotas: TProjectQuotas }) {
  return (
    <ApiForm
      label={`Edit project ${props.name}`}
      submitLabel="Save"
      submitVariant="secondary"
      reset={false}
      submit={(form) =>
        browserApi(props.name).updateProject({
          description: String(form.get('description') ?? ''),
          quotas: quotasOf(form),
        })
      }
    >
      <ApiField id={`edit-${props.name}-description`} label="Description" size="wide">
        <input name="description" type="text" maxLength={2000} defaultValue={props.description} />
      </ApiField>
      <QuotaFields idPrefix={`edit-${props.name}`} quotas={props.quotas} />
    </ApiForm>
  );
}

/** Only an empty project can go: the API names what is left in it otherwise. */
export function DeleteProjectButton({ name }: { name: string }) {
  return (
    <ConfirmButton
      label="Delete"
      confirmLabel={`Delete ${name}`}
      ariaLabel={`Delete project ${name}`}
      action={() => browserApi(name).deleteProject()}
    />
  );
}
