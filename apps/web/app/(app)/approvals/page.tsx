import type { Metadata } from 'next';
import Link from 'next/link';
import type { TApproval, TRegisteredModel } from '@modelyard/contracts';
import { getMe, load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { describeTransition } from '@/lib/registry-text';
import { registryAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { DecisionControls } from './decision-controls';

export const metadata: Metadata = { title: 'Approvals' };

const RECENT = 25;
const actorName = (a: { kind: string; name: string | null } | null) => (a ? a.name ?? a.kind : '—');

export default async function ApprovalsPage() {
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const { canPromote } = registryAbilities(me.data.role);
  const [pending, all] = await Promise.all([
    load((api) => api.listApprovals({ status: 'pending' })),
    load((api) => api.listApprovals()),
  ]);
  // What accepting does depends on what is in Production now, so the decision says which version stops serving.
  const modelNames = pending.ok ? [...new Set(pending.data.map((a) => a.model))] : [];
  const models = new Map<string, TRegisteredModel>();
  await Promise.all(
    modelNames.map(async (name) => {
      const m = await load((api) => api.getModel(name));
      if (m.ok) models.set(name, m.data);
    }),
  );
  const decided = all.ok
    ? all.data
        .filter((a) => a.status !== 'pending')
        .sort((a, b) => (b.decidedAt ?? b.createdAt).localeCompare(a.decidedAt ?? a.createdAt))
        .slice(0, RECENT)
    : [];

  return (
    <>
      <PageHeader title="Approvals">
        Models with an approval policy reach Production only when a second approver accepts the request.
      </PageHeader>

      <section className="card" aria-labelledby="pending-title">
        <h2 id="pending-title">Pending requests</h2>
        {!canPromote ? (
          <p className="hint">Only approvers can accept or reject requests; you are signed in as a {me.data.role}.</p>
        ) : null}
        {!pending.ok ? (
          <ErrorAlert message={pending.message} />
        ) : pending.data.length === 0 ? (
          <p className="muted empty-state">No requests are waiting for a decision.</p>
        ) : (
          <table className="table" aria-label="Pending requests">
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">Requested by</th>
                <th scope="col">Comment</th>
                <th scope="col">{canPromote ? 'Decision' : <span className="visually-hidden">Decision</span>}</th>
              </tr>
            </thead>
            <tbody>
              {pending.data.map((a) => (
                <PendingRow key={a.id} a={a} model={models.get(a.model)} canPromote={canPromote} myId={me.data.id} />
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="card" aria-labelledby="decided-title">
        <h2 id="decided-title">Recently decided</h2>
        {!all.ok ? (
          <ErrorAlert message={all.message} />
        ) : decided.length === 0 ? (
          <p className="muted empty-state">No decisions yet.</p>
        ) : (
          <table className="table" aria-label="Recently decided requests">
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">Decision</th>
                <th scope="col">Requested by</th>
                <th scope="col">Decided by</th>
                <th scope="col">Comment</th>
              </tr>
            </thead>
            <tbody>
              {decided.map((a) => (
                <tr key={a.id}>
                  <td><RequestLabel a={a} /></td>
                  <td>
                    <span className={`badge badge-decision-${a.status}`}>{a.status}</span>
                    <div className="muted small nowrap">{formatTime(a.decidedAt)}</div>
                  </td>
                  <td>{actorName(a.requestedBy)}</td>
                  <td>{actorName(a.decidedBy)}</td>
                  <td className="summary small">
                    {a.decisionComment ? a.decisionComment : <span className="muted">—</span>}
                    {a.comment ? <div className="muted">Request: {a.comment}</div> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function RequestLabel({ a }: { a: TApproval }) {
  return (
    <>
      <Link href={`/models/${encodeURIComponent(a.model)}?version=${a.version}#version-detail`} className="strong-link">
        {a.model} v{a.version}
      </Link>
      <span className="muted"> → </span>
      <span className={`badge badge-stage-${a.toStage.toLowerCase()}`}>{a.toStage}</span>
    </>
  );
}

function PendingRow({ a, model, canPromote, myId }: { a: TApproval; model: TRegisteredModel | undefined; canPromote: boolean; myId: string }) {
  const production = model?.productionVersion != null && a.archivePrevious ? [model.productionVersion] : [];
  return (
    <tr>
      <td>
        <RequestLabel a={a} />
        {/* Shown as if the policy were off: this is what happens once the request is accepted. */}
        <p className="small consequence">
          {describeTransition({ model: a.model, version: a.version, from: 'Staging', to: a.toStage, production, requiresApproval: false })}
        </p>
      </td>
      <td>
        <div>{actorName(a.requestedBy)}</div>
        <div className="muted small nowrap">{formatTime(a.createdAt)}</div>
      </td>
      <td className="summary small">{a.comment || <span className="muted">—</span>}</td>
      <td>{canPromote ? <DecisionControls id={a.id} label={`${a.model} version ${a.version}`} ownRequest={a.requestedBy.id === myId} /> : null}</td>
    </tr>
  );
}
