'use client';
import { useEffect, useRef, useState, useTransition, type ReactNode } from 'react';
import { useRouter } from 'next/navigation';
import {
  ZDeploymentConfig,
  ZPilot,
  type ModelyardClient,
  type TDeploymentConfig,
  type TDeploymentRevision,
  type TPilot,
} from '@modelyard/contracts';
import { ApiField, ApiForm } from '@/components/api-form';
import { text } from '@/components/form';

type Production = TDeploymentConfig['production'];
export interface VersionOption {
  version: number;
  label: string;
}

/**
 * Every save is a read-modify-write of the newest revision (as the CLI does): the edit is applied to what the
 * API holds now, not to what this page rendered, so a change someone made meanwhile is kept rather than
 * overwritten. The API has no compare-and-set on revisions; two saves in the same instant can still race.
 */
async function editDeployment(
  api: ModelyardClient,
  model: string,
  edit: (config: TDeploymentConfig) => TDeploymentConfig,
  comment: string,
): Promise<TDeploymentRevision> {
  const { current } = await api.getDeployment(model);
  return api.putDeployment(model, edit(current?.config ?? ZDeploymentConfig.parse({})), comment);
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** `datetime-local` has no zone; the page shows UTC everywhere, so the input is read as UTC too. */
function utcInput(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(`${value}Z`); // HH:MM or HH:MM:SS, both valid ISO local times
  return Number.isNaN(d.getTime()) ? value : d.toISOString(); // unparseable: left for ZPilot to reject
}

function CommentField({ id, label = 'Comment' }: { id: string; label?: string }) {
  return (
    <ApiField id={id} label={label} size="wide">
      <input
        name="comment"
        type="text"
        required
        maxLength={2000}
        autoComplete="off"
        placeholder="Why? It is kept with the revision."
      />
    </ApiField>
  );
}

/** Follow the Production stage or pin a version. Approvers only: others see it disabled, and the API refuses them. */
export function ProductionForm(p: {
  model: string;
  production: Production;
  stageVersion: number | null;
  versions: VersionOption[];
  canPromote: boolean;
  role: string;
}) {
  const [mode, setMode] = useState<Production['mode']>(p.production.mode);
  const pinnedNow = p.production.mode === 'pinned' ? p.production.version : null;
  const [pin, setPin] = useState(String(pinnedNow ?? p.stageVersion ?? p.versions[0]?.version ?? ''));
  const wanted: Production | null =
    mode === 'stage' ? { mode: 'stage' } : pin ? { mode: 'pinned', version: Number(pin) } : null;
  const unchanged = wanted !== null && sameJson(wanted, p.production);

  return (
    <ApiForm
      layout="stack"
      label="Production"
      submitLabel="Save production"
      pendingLabel="Saving…"
      submitDisabled={!p.canPromote || !wanted || unchanged}
      submit={(form, api) => {
        const production = wanted ?? p.production; // the button is disabled while nothing is chosen
        return editDeployment(api, p.model, (c) => ({ ...c, production }), text(form, 'comment'));
      }}
    >
      {!p.canPromote ? (
        <p className="hint" id="production-hint">
          Only approvers can change what production serves; you are signed in as a {p.role}.
        </p>
      ) : null}
      <fieldset
        className="form-grid"
        disabled={!p.canPromote}
        aria-describedby={!p.canPromote ? 'production-hint' : undefined}
      >
        <fieldset className="stage-options field-full">
          <legend>Production serves</legend>
          <label className="radio">
            <input
              type="radio"
              name="mode"
              value="stage"
              checked={mode === 'stage'}
              onChange={() => setMode('stage')}
            />
            <span>
              The version in the Production stage
              {p.stageVersion !== null ? ` (version ${p.stageVersion} now)` : ' (none now)'}
            </span>
          </label>
          <label className="radio">
            <input
              type="radio"
              name="mode"
              value="pinned"
              checked={mode === 'pinned'}
              onChange={() => setMode('pinned')}
            />
            <span>A pinned version</span>
          </label>
        </fieldset>
        <ApiField id="production-version" label="Pinned version">
          <select value={pin} disabled={mode !== 'pinned'} onChange={(e) => setPin(e.target.value)}>
            {p.versions.map((v) => (
              <option key={v.version} value={v.version}>
                {v.label}
              </option>
            ))}
          </select>
        </ApiField>
        <CommentField id="production-comment" />
      </fieldset>
    </ApiForm>
  );
}

/**
 * A new pilot: a version for callers in some groups and/or a sticky percentage of callers, optionally within a
 * time window. Scientists may pilot only to their own groups and never by percentage (the API's rule; the
 * controls they cannot use are disabled with the reason).
 */
export function AddPilotForm(p: {
  model: string;
  versions: VersionOption[];
  groups: { id: string; name: string }[];
  myGroups: string[];
  canPromote: boolean;
}) {
  const [version, setVersion] = useState(String(p.versions[0]?.version ?? ''));
  const [groups, setGroups] = useState<string[]>([]);
  const chosen = p.versions.some((v) => String(v.version) === version) ? version : String(p.versions[0]?.version ?? '');
  const mine = new Set(p.myGroups);

  const pilotOf = (form: FormData) =>
    ZPilot.safeParse({
      version: Number(chosen),
      groups,
      percentage: Number(form.get('percentage') || 0),
      startsAt: utcInput(text(form, 'startsAt')),
      endsAt: utcInput(text(form, 'endsAt')),
    });
  function check(form: FormData): string | null {
    const parsed = pilotOf(form);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return issue?.message === 'a pilot needs groups or a percentage'
        ? 'Pick at least one group or give a percentage.'
        : `Pilot: ${issue?.message ?? 'invalid'}.`;
    }
    const pilot = parsed.data;
    return pilot.startsAt && pilot.endsAt && pilot.endsAt <= pilot.startsAt
      ? 'The end of the window must be after its start.'
      : null;
  }

  if (p.versions.length === 0) return <p className="muted small">A pilot needs a ready version.</p>;
  return (
    <ApiForm
      className="deployment-form"
      labelledBy="add-pilot-title"
      submitLabel="Add pilot"
      pendingLabel="Saving…"
      validate={check}
      submit={(form, api) => {
        const parsed = pilotOf(form);
        if (!parsed.success) throw new Error(check(form) ?? 'Pilot: invalid.'); // validate ran first: not reached
        const pilot = parsed.data;
        return editDeployment(api, p.model, (c) => ({ ...c, pilots: [...c.pilots, pilot] }), text(form, 'comment'));
      }}
      onSuccess={() => setGroups([])}
    >
      <h3 id="add-pilot-title" className="field-full">
        Add a pilot
      </h3>
      <ApiField id="pilot-version" label="Version">
        <select value={chosen} onChange={(e) => setVersion(e.target.value)}>
          {p.versions.map((v) => (
            <option key={v.version} value={v.version}>
              {v.label}
            </option>
          ))}
        </select>
      </ApiField>
      <ApiField
        id="pilot-percentage"
        label="Percentage of callers"
        hint={!p.canPromote ? 'A percentage of all callers needs the approver role.' : undefined}
      >
        <input name="percentage" type="number" min={0} max={100} step="any" defaultValue={0} disabled={!p.canPromote} />
      </ApiField>
      <ApiField id="pilot-starts" label="Starts (UTC, optional)">
        <input name="startsAt" type="datetime-local" />
      </ApiField>
      <ApiField id="pilot-ends" label="Ends (UTC, optional)">
        <input name="endsAt" type="datetime-local" />
      </ApiField>
      <fieldset className="field-full group-picker">
        <legend>Groups</legend>
        {p.groups.length === 0 ? (
          <p className="muted small">There are no groups yet; an admin creates them on the Groups page.</p>
        ) : (
          p.groups.map((g) => {
            const allowed = p.canPromote || mine.has(g.id);
            return (
              <label key={g.id} className={`checkbox${allowed ? '' : ' radio-disabled'}`}>
                <input
                  type="checkbox"
                  name="groups"
                  value={g.id}
                  disabled={!allowed}
                  checked={groups.includes(g.id)}
                  onChange={(e) =>
                    setGroups((cur) => (e.target.checked ? [...cur, g.id] : cur.filter((id) => id !== g.id)))
                  }
                />
                <span>{g.name}</span>
                {!allowed ? <span className="muted small">(not your group)</span> : null}
              </label>
            );
          })
        )}
      </fieldset>
      <CommentField id="pilot-comment" />
    </ApiForm>
  );
}

/** A silent version gets a sampled copy of production's requests and never answers. */
export function AddSilentForm({ model, versions }: { model: string; versions: VersionOption[] }) {
  const [version, setVersion] = useState(String(versions[0]?.version ?? ''));
  const chosen = versions.some((v) => String(v.version) === version) ? version : String(versions[0]?.version ?? '');
  const percentOf = (form: FormData) => Number(form.get('sampleRate'));

  if (versions.length === 0) return <p className="muted small">A silent version needs a ready version.</p>;
  return (
    <ApiForm
      className="deployment-form"
      labelledBy="add-silent-title"
      submitLabel="Add silent version"
      pendingLabel="Saving…"
      validate={(form) => {
        const percent = percentOf(form);
        return Number.isFinite(percent) && percent > 0 && percent <= 100
          ? null
          : 'The sample rate is a percentage above 0 and at most 100.';
      }}
      submit={(form, api) => {
        const silent = { version: Number(chosen), sampleRate: percentOf(form) / 100 };
        return editDeployment(api, model, (c) => ({ ...c, silent: [...c.silent, silent] }), text(form, 'comment'));
      }}
    >
      <h3 id="add-silent-title" className="field-full">
        Add a silent version
      </h3>
      <ApiField id="silent-version" label="Version">
        <select value={chosen} onChange={(e) => setVersion(e.target.value)}>
          {versions.map((v) => (
            <option key={v.version} value={v.version}>
              {v.label}
            </option>
          ))}
        </select>
      </ApiField>
      <ApiField id="silent-rate" label="Sample rate (% of production requests)">
        <input name="sampleRate" type="number" min={0.01} max={100} step="any" defaultValue={100} required />
      </ApiField>
      <CommentField id="silent-comment" />
    </ApiForm>
  );
}

/**
 * A change that needs a second click and takes a comment (removing a pilot or silent version, a rollback), like
 * ConfirmButton but with the comment the revision keeps: the first button opens a small inline form and focus
 * goes to its comment field; Cancel or Escape closes it. The button's accessible name is its visible label plus
 * what it acts on.
 */
function ConfirmWithComment(p: {
  id: string;
  label: string;
  /** Read by screen readers after the label: "Remove" + " pilot version 2". */
  context: string;
  consequence: ReactNode;
  confirmLabel: string;
  commentRequired?: boolean;
  placeholder?: string;
  action: (api: ModelyardClient, comment: string) => Promise<unknown>;
}) {
  const [confirming, setConfirming] = useState(false);
  const opener = useRef<HTMLButtonElement>(null);
  const cancelled = useRef(false);
  // After Cancel (or Escape) the keyboard user lands back on the button that opened the form, not on <body>.
  useEffect(() => {
    if (!confirming && cancelled.current) {
      cancelled.current = false;
      opener.current?.focus();
    }
  }, [confirming]);
  const cancel = () => {
    cancelled.current = true;
    setConfirming(false);
  };

  if (!confirming) {
    return (
      <button ref={opener} type="button" className="btn btn-secondary btn-small" onClick={() => setConfirming(true)}>
        {p.label}
        <span className="visually-hidden"> {p.context}</span>
      </button>
    );
  }
  return (
    <ApiForm
      layout="inline"
      className="inline-form-tight confirm-comment"
      label={`${p.label} ${p.context}`}
      reset={false}
      submitLabel={p.confirmLabel}
      submitVariant="danger"
      submitSmall
      submit={(form, api) => p.action(api, text(form, 'comment'))}
      onSuccess={() => setConfirming(false)}
      onKeyDown={(e) => {
        if (e.key === 'Escape') cancel();
      }}
      actions={
        <button type="button" className="btn btn-secondary btn-small" onClick={cancel}>
          Cancel
        </button>
      }
    >
      <span className="small">{p.consequence}</span>
      <ApiField id={p.id} label="Comment" hiddenLabel size="inline">
        <input
          name="comment"
          type="text"
          maxLength={2000}
          required={p.commentRequired ?? true}
          autoFocus
          autoComplete="off"
          placeholder={p.placeholder ?? 'Comment'}
        />
      </ApiField>
    </ApiForm>
  );
}

export function RemovePilotButton({ model, pilot, index }: { model: string; pilot: TPilot; index: number }) {
  return (
    <ConfirmWithComment
      id={`remove-pilot-${index}`}
      label="Remove"
      context={`pilot version ${pilot.version}`}
      consequence="Its callers get production again."
      confirmLabel="Remove pilot"
      action={(api, comment) =>
        editDeployment(
          api,
          model,
          (c) => {
            const at = c.pilots.findIndex((x) => sameJson(x, pilot));
            if (at < 0)
              throw new Error(`The pilot of version ${pilot.version} is no longer in the deployment; reload the page.`);
            return { ...c, pilots: c.pilots.filter((_, i) => i !== at) };
          },
          comment,
        )
      }
    />
  );
}

export function RemoveSilentButton({
  model,
  silent,
  index,
}: {
  model: string;
  silent: TDeploymentConfig['silent'][number];
  index: number;
}) {
  return (
    <ConfirmWithComment
      id={`remove-silent-${index}`}
      label="Remove"
      context={`silent version ${silent.version}`}
      consequence="It stops receiving copies of production requests."
      confirmLabel="Remove silent version"
      action={(api, comment) =>
        editDeployment(
          api,
          model,
          (c) => {
            const at = c.silent.findIndex((x) => sameJson(x, silent));
            if (at < 0)
              throw new Error(`Silent version ${silent.version} is no longer in the deployment; reload the page.`);
            return { ...c, silent: c.silent.filter((_, i) => i !== at) };
          },
          comment,
        )
      }
    />
  );
}

/** Rolling back writes a new revision with the old configuration; the history itself is never rewritten. */
export function RollbackButton({ model, revision, next }: { model: string; revision: number; next: number }) {
  return (
    <ConfirmWithComment
      id={`rollback-${revision}`}
      label="Roll back to this"
      context={`(revision ${revision})`}
      consequence={`Revision ${next} will restore the configuration of revision ${revision}.`}
      confirmLabel="Confirm roll back"
      commentRequired={false}
      placeholder={`rollback to revision ${revision}`}
      action={(api, comment) => api.rollbackDeployment(model, { revision, comment })}
    />
  );
}

/** The comparison figures grow as traffic arrives; this re-reads them without leaving the page. */
export function RefreshButton({ label }: { label: string }) {
  const router = useRouter();
  const [refreshing, startTransition] = useTransition();
  return (
    <button
      type="button"
      className="btn btn-secondary btn-small"
      disabled={refreshing}
      onClick={() => startTransition(() => router.refresh())}
    >
      {refreshing ? 'Refreshing…' : label}
    </button>
  );
}
