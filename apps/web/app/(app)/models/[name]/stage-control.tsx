'use client';
import { useRef, useState } from 'react';
import Link from '@/components/project';
import { STAGES, type Stage, type TModelVersion, type TStageTransitionResult } from '@modelyard/contracts';
import { describeTransition } from '@/lib/registry-text';
import { ApiField, ApiForm } from '@/components/api-form';

interface Props {
  model: string;
  version: number;
  stage: Stage;
  status: TModelVersion['status'];
  /** Versions in Production now (usually one). */
  production: number[];
  requiresApproval: boolean;
  canPromote: boolean;
  role: string;
}

/** Where a version usually goes next from each stage; the first allowed stage is used when that one is not. */
const NEXT: Record<Stage, Stage> = {
  None: 'Staging',
  Staging: 'Production',
  Production: 'Archived',
  Archived: 'Staging',
};

/**
 * "Change stage" for one version: a modal dialog (an ApiForm) that asks for a target and a comment, says what the
 * change does (which version stops serving), and only then calls the API. Options the role may not use are
 * disabled with the reason; the API still decides, and its refusal (say, another user moved the version since
 * the page was drawn) shows in the dialog, which stays open.
 */
export function StageControl(p: Props) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  // A new form each time the dialog opens: no error or typed comment left over from the last time.
  const [opened, setOpened] = useState(0);
  const [notice, setNotice] = useState<{ text: string; approvals?: boolean } | null>(null);

  function blockedReason(to: Stage): string | null {
    if (to === p.stage) return 'current stage';
    if ((to === 'Staging' || to === 'Production') && p.status !== 'ready')
      return `only ready versions (this one is ${p.status})`;
    const touchesProduction = to === 'Production' || p.stage === 'Production';
    // With the approval policy, anyone who may write can ask for Production; leaving it still needs an approver.
    const viaRequest = to === 'Production' && p.requiresApproval;
    if (touchesProduction && !p.canPromote && !viaRequest) return 'needs the approver role';
    return null;
  }
  const allowed = STAGES.filter((s) => blockedReason(s) === null);
  const preferred = allowed.includes(NEXT[p.stage]) ? NEXT[p.stage] : (allowed[0] ?? null);
  const [target, setTarget] = useState<Stage | null>(preferred);
  const effective = target !== null && allowed.includes(target) ? target : preferred;
  const productionBlocked =
    blockedReason(p.stage === 'Production' ? 'Archived' : 'Production') === 'needs the approver role';

  function open() {
    setOpened((n) => n + 1);
    setNotice(null);
    setTarget(preferred);
    dialogRef.current?.showModal();
  }

  function onSuccess(r: TStageTransitionResult, to: Stage) {
    dialogRef.current?.close();
    if (r.outcome === 'approval_requested') {
      setNotice({
        text: `Approval requested: version ${p.version} goes to ${to} once a second approver accepts.`,
        approvals: true,
      });
    } else {
      const archived = r.archived.length ? ` Archived: version ${r.archived.join(', ')}.` : '';
      setNotice({ text: `Version ${p.version} is now in ${r.version.stage}.${archived}` });
    }
  }

  const titleId = `stage-title-${p.version}`;
  const confirmLabel =
    effective === 'Production'
      ? p.requiresApproval
        ? 'Request approval'
        : 'Promote to Production'
      : effective === 'Archived'
        ? `Archive version ${p.version}`
        : effective === 'None'
          ? 'Remove from stage'
          : `Move to ${effective ?? '…'}`;

  return (
    <div className="stage-control">
      <button
        type="button"
        className="btn btn-secondary btn-small"
        onClick={open}
        aria-label={`Change stage of version ${p.version}`}
      >
        Change stage
      </button>
      {notice ? (
        <p className="small notice-inline" role="status">
          {notice.text}
          {notice.approvals ? (
            <>
              {' '}
              <Link href="/approvals">Approvals</Link>
            </>
          ) : null}
        </p>
      ) : null}
      <dialog ref={dialogRef} className="dialog" aria-labelledby={titleId}>
        <ApiForm
          key={opened}
          layout="stack"
          labelledBy={titleId}
          submit={(data, api) =>
            api.transitionStage(p.model, p.version, {
              stage: String(data.get('stage')) as Stage,
              comment: String(data.get('comment') ?? '').trim(),
              archivePrevious: true,
            })
          }
          validate={(data) => (data.get('stage') ? null : 'Pick the stage to move the version to.')}
          onSuccess={(r) => onSuccess(r, effective ?? r.version.stage)}
          submitLabel={confirmLabel}
          pendingLabel="Saving…"
          submitVariant={effective === 'Archived' ? 'danger' : 'primary'}
          submitDisabled={!effective}
          actionsPosition="before"
          actionsClassName="dialog-actions"
          actions={
            <button type="button" className="btn btn-secondary" onClick={() => dialogRef.current?.close()}>
              Cancel
            </button>
          }
        >
          <h2 id={titleId}>Change the stage of version {p.version}</h2>
          <p className="muted small">
            {p.model}, version {p.version}: now in <strong>{p.stage}</strong>.
          </p>
          <fieldset className="stage-options">
            <legend>Move to</legend>
            {STAGES.map((s) => {
              const reason = blockedReason(s);
              return (
                <label key={s} className={`radio${reason ? ' radio-disabled' : ''}`}>
                  <input
                    type="radio"
                    name="stage"
                    value={s}
                    checked={effective === s}
                    disabled={reason !== null}
                    onChange={() => setTarget(s)}
                  />
                  <span>{s}</span>
                  {reason ? <span className="muted small">({reason})</span> : null}
                </label>
              );
            })}
          </fieldset>
          {productionBlocked ? (
            <p className="hint" id={`stage-hint-${p.version}`}>
              Only approvers can move a version into or out of Production; you are signed in as a {p.role}.
              {p.stage !== 'Production' ? ' Move it to Staging and ask an approver to promote it.' : ''}
            </p>
          ) : null}
          <ApiField id={`stage-comment-${p.version}`} label="Comment">
            <textarea name="comment" rows={2} maxLength={2000} placeholder="Why? It is kept in the model's history." />
          </ApiField>
          {effective ? (
            <p
              className={`consequence${effective === 'Production' || p.stage === 'Production' ? ' consequence-strong' : ''}`}
            >
              {describeTransition({
                model: p.model,
                version: p.version,
                from: p.stage,
                to: effective,
                production: p.production,
                requiresApproval: p.requiresApproval,
              })}
            </p>
          ) : (
            <p className="consequence">There is no stage you can move this version to.</p>
          )}
        </ApiForm>
      </dialog>
    </div>
  );
}
