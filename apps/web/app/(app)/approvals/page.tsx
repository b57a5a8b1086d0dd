import type { Metadata } from 'next';
import Link from '@/components/project';
import type { TApproval, TRegisteredModel } from '@modelyard/contracts';
import { getMe, load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { describeTransition } from '@/lib/registry-text';
import { registryAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { DataTable, type Column } from '@/components/data-table';
import { DecisionControls } from './decision-controls';

export const metadata: Metadata = { title: 'Approvals' };

const RECENT = 25;
const none = <span className="muted">—</span>;
const actorName = (a: { kind: string; name: string | null } | null) => (a ? (a.name ?? a.kind) : '—');

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
        ) : (
          <DataTable
            label="Pending requests"
            rows={pending.data}
            rowKey={(a) => a.id}
            columns={pendingColumns({ models, canPromote, myId: me.data.id })}
            empty="No requests are waiting for a decision."
            pageSize={25}
          />
        )}
      </section>

      <section className="card" aria-labelledby="decided-title">
        <h2 id="decided-title">Recently decided</h2>
        {!all.ok ? (
          <ErrorAlert message={all.message} />
        ) : (
          <DataTable
            label="Recently decided requests"
            rows={decided}
            rowKey={(a) => a.id}
            columns={DECIDED_COLUMNS}
            empty="No decisions yet."
          />
        )}
      </section>
    </>
  );
}

const DECIDED_COLUMNS: Column<TApproval>[] = [
  { key: 'request', header: 'Request', sort: (a) => `${a.model} ${a.version}`, cell: (a) => <RequestLabel a={a} /> },
  {
    key: 'decision',
    header: 'Decision',
    sort: (a) => a.decidedAt,
    cell: (a) => (
      <>
        <span className={`badge badge-decision-${a.status}`}>{a.status}</span>
        <div className="muted small nowrap">{formatTime(a.decidedAt)}</div>
      </>
    ),
  },
  {
    key: 'requested',
    header: 'Requested by',
    sort: (a) => actorName(a.requestedBy),
    cell: (a) => actorName(a.requestedBy),
  },
  { key: 'decided', header: 'Decided by', sort: (a) => actorName(a.decidedBy), cell: (a) => actorName(a.decidedBy) },
  {
    key: 'comment',
    header: 'Comment',
    className: 'summary small',
    cell: (a) => (
      <>
        {a.decisionComment ? a.decisionComment : none}
        {a.comment ? <div className="muted">Request: {a.comment}</div> : null}
      </>
    ),
  },
];

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

function pendingColumns(ctx: {
  models: Map<string, TRegisteredModel>;
  canPromote: boolean;
  myId: string;
}): Column<TApproval>[] {
  return [
    {
      key: 'request',
      header: 'Request',
      sort: (a) => `${a.model} ${a.version}`,
      width: '40%',
      cell: (a) => {
        const model = ctx.models.get(a.model);
        const production = model?.productionVersion != null && a.archivePrevious ? [model.productionVersion] : [];
        return (
          <>
            <RequestLabel a={a} />
            {/* Shown as if the policy were off: this is what happens once the request is accepted. */}
            <p className="small consequence">
              {describeTransition({
                model: a.model,
                version: a.version,
                from: 'Staging',
                to: a.toStage,
                production,
                requiresApproval: false,
              })}
            </p>
          </>
        );
      },
    },
    {
      key: 'requested',
      header: 'Requested by',
      sort: (a) => a.createdAt,
      cell: (a) => (
        <>
          <div>{actorName(a.requestedBy)}</div>
          <div className="muted small nowrap">{formatTime(a.createdAt)}</div>
        </>
      ),
    },
    { key: 'comment', header: 'Comment', className: 'summary small', cell: (a) => a.comment || none },
    {
      key: 'decision',
      header: ctx.canPromote ? 'Decision' : <span className="visually-hidden">Decision</span>,
      cell: (a) =>
        ctx.canPromote ? (
          <DecisionControls
            id={a.id}
            label={`${a.model} version ${a.version}`}
            ownRequest={a.requestedBy.id === ctx.myId}
          />
        ) : null,
    },
  ];
}
