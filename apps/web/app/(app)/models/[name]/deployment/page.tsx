import type { Metadata } from 'next';
import Link from '@/components/project';
import {
  ZDeploymentConfig,
  ZSignature,
  type TDeploymentComparison,
  type TDeploymentConfig,
  type TDeploymentRevision,
  type TModelVersion,
} from '@modelyard/contracts';
import { getMe, load, type Loaded } from '@/lib/api.server';
import { formatMetric, formatTime } from '@/lib/format';
import {
  describeAutoRollback,
  describeJudge,
  describeProduction,
  describeRouting,
  describeWindow,
  formatMs,
  formatPercent,
  summarizeConfig,
} from '@/lib/deployment-text';
import { registryAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { DataTable, type Column } from '@/components/data-table';
import {
  AddPilotForm,
  AddSilentForm,
  ProductionForm,
  RefreshButton,
  RemovePilotButton,
  RemoveSilentButton,
  RollbackButton,
  type VersionOption,
} from './deployment-controls';

export async function generateMetadata({ params }: PageProps<'/models/[name]/deployment'>): Promise<Metadata> {
  return { title: `${(await params).name}: deployment` };
}

const actorName = (a: { kind: string; name: string | null }) => a.name ?? a.kind;

const none = <span className="muted">—</span>;
type Candidate = { version: number; role: 'pilot' | 'silent' };

export default async function DeploymentPage({ params }: PageProps<'/models/[name]/deployment'>) {
  const { name } = await params;
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const abilities = registryAbilities(me.data.role);

  const [model, versions, deployment, revisions, groups] = await Promise.all([
    load((api) => api.getModel(name)),
    load((api) => api.listVersions(name)),
    load((api) => api.getDeployment(name)),
    load((api) => api.deploymentRevisions(name)),
    load((api) => api.listGroups()),
  ]);

  const header = (
    <div className="page-header">
      <p className="breadcrumb">
        <Link href="/models">Models</Link> / <Link href={`/models/${encodeURIComponent(name)}`}>{name}</Link> /
      </p>
      <h1>Deployment</h1>
      <p className="muted">
        Who gets which version of {name}: production for everyone, pilots for some callers, silent versions that only
        receive copies. Every change is a new revision that can be rolled back.
      </p>
    </div>
  );
  if (!model.ok || !deployment.ok) {
    return (
      <>
        {header}
        <ErrorAlert message={!model.ok ? model.message : !deployment.ok ? deployment.message : null} />
        <p>
          <Link href={model.ok ? `/models/${encodeURIComponent(name)}` : '/models'}>Back</Link>
        </p>
      </>
    );
  }

  const current = deployment.data.current;
  // No revision yet: the API serves the defaults (production follows the stage, nothing else).
  const config: TDeploymentConfig = current?.config ?? ZDeploymentConfig.parse({});
  const stageVersion = model.data.productionVersion;
  const ready = versions.ok
    ? versions.data.filter((v) => v.status === 'ready').sort((a, b) => b.version - a.version)
    : [];
  const options: VersionOption[] = ready.map((v) => ({
    version: v.version,
    label: `Version ${v.version}${v.stage !== 'None' ? ` (${v.stage})` : ''}${v.description ? ` – ${v.description.slice(0, 40)}` : ''}`,
  }));
  // Pilots and silent versions are usually new versions, not the one production serves: offer those first.
  const candidatesFirst = [
    ...options.filter((o) => o.version !== stageVersion),
    ...options.filter((o) => o.version === stageVersion),
  ];
  const groupNames = new Map(groups.ok ? groups.data.map((g) => [g.id, g.name] as const) : []);

  const candidates: Candidate[] = [
    ...config.pilots.map((p) => ({ version: p.version, role: 'pilot' as const })),
    ...config.silent.map((s) => ({ version: s.version, role: 'silent' as const })),
  ].filter((c, i, all) => all.findIndex((o) => o.version === c.version && o.role === c.role) === i);
  const comparisons = await Promise.all(
    candidates.map((c) => load((api) => api.deploymentComparison(name, c.version))),
  );

  return (
    <>
      {header}
      <dl className="facts deployment-facts">
        <div>
          <dt>Revision</dt>
          <dd>{current ? `${current.revision}` : 'none yet'}</dd>
        </div>
        {current ? (
          <>
            <div>
              <dt>Changed by</dt>
              <dd>
                {actorName(current.author)}
                {current.author.kind === 'system' ? ' (system)' : ''}
              </dd>
            </div>
            <div>
              <dt>At</dt>
              <dd>{formatTime(current.createdAt)}</dd>
            </div>
            {current.comment ? (
              <div>
                <dt>Comment</dt>
                <dd>{current.comment}</dd>
              </div>
            ) : null}
          </>
        ) : null}
      </dl>
      {!versions.ok ? <ErrorAlert message={`Cannot list versions: ${versions.message}`} /> : null}

      <section className="card" aria-labelledby="production-title">
        <h2 id="production-title">Production</h2>
        <p className="production-state">
          <span
            className={`badge ${config.production.mode === 'pinned' ? 'badge-stage-staging' : 'badge-stage-production'}`}
          >
            {config.production.mode === 'pinned' ? 'pinned' : 'follows stage'}
          </span>{' '}
          {describeProduction(config.production, stageVersion)}
        </p>
        {abilities.canWrite && options.length ? (
          <ProductionForm
            model={name}
            production={config.production}
            stageVersion={stageVersion}
            versions={options}
            canPromote={abilities.canPromote}
            role={me.data.role ?? 'viewer'}
          />
        ) : null}
      </section>

      <section className="card" aria-labelledby="pilots-title">
        <h2 id="pilots-title">Pilots</h2>
        <p className="muted small">
          A pilot answers some callers instead of production: members of its groups first, then a sticky share of the
          rest by routing key. Outside its time window it answers nobody.
        </p>
        <DataTable
          label="Pilots"
          className="deployment-table"
          rows={config.pilots.map((p, i) => ({ p, i }))}
          rowKey={({ p, i }) => `${p.version}-${i}`}
          empty="No pilots: every caller gets production."
          columns={[
            { key: 'version', header: 'Version', rowHeader: true, nowrap: true, cell: ({ p }) => `v${p.version}` },
            {
              key: 'rule',
              header: 'Routing rule',
              cell: ({ p }) => {
                const auto = describeAutoRollback(p.autoRollback);
                const judge = describeJudge(p.judge);
                return (
                  <>
                    <div>{describeRouting(p, groupNames)}</div>
                    {auto ? <div className="small muted">{auto}</div> : null}
                    {judge ? <div className="small muted">{judge}</div> : null}
                  </>
                );
              },
            },
            {
              key: 'window',
              header: 'Window',
              className: 'small',
              cell: ({ p }) => {
                const window = describeWindow(p);
                return (
                  <>
                    <div>{window.text}</div>
                    {window.state !== 'active' ? <span className="badge badge-muted">{window.state}</span> : null}
                  </>
                );
              },
            },
            ...(abilities.canWrite
              ? [
                  {
                    key: 'actions',
                    header: <span className="visually-hidden">Actions</span>,
                    cell: ({ p, i }: { p: (typeof config.pilots)[number]; i: number }) => (
                      <RemovePilotButton model={name} pilot={p} index={i} />
                    ),
                  },
                ]
              : []),
          ]}
        />
        {!groups.ok ? <ErrorAlert message={`Cannot list groups: ${groups.message}`} /> : null}
        {abilities.canWrite && groups.ok ? (
          <AddPilotForm
            model={name}
            versions={candidatesFirst}
            groups={groups.data.map((g) => ({ id: g.id, name: g.name }))}
            myGroups={me.data.groups.map((g) => g.id)}
            canPromote={abilities.canPromote}
          />
        ) : null}
      </section>

      <section className="card" aria-labelledby="silent-title">
        <h2 id="silent-title">Silent versions</h2>
        <p className="muted small">
          A silent version gets a copy of a sample of production&apos;s requests after production has answered. Its
          answers are never returned; they are compared with production&apos;s below.
        </p>
        <DataTable
          label="Silent versions"
          compact
          className="deployment-table silent-table"
          rows={config.silent.map((sv, i) => ({ sv, i }))}
          rowKey={({ sv, i }) => `${sv.version}-${i}`}
          empty="No silent versions."
          columns={[
            { key: 'version', header: 'Version', rowHeader: true, nowrap: true, cell: ({ sv }) => `v${sv.version}` },
            {
              key: 'rate',
              header: 'Sample rate',
              sort: ({ sv }) => sv.sampleRate,
              cell: ({ sv }) => `${formatPercent(sv.sampleRate, 2)} of production requests`,
            },
            ...(abilities.canWrite
              ? [
                  {
                    key: 'actions',
                    header: <span className="visually-hidden">Actions</span>,
                    cell: ({ sv, i }: { sv: (typeof config.silent)[number]; i: number }) => (
                      <RemoveSilentButton model={name} silent={sv} index={i} />
                    ),
                  },
                ]
              : []),
          ]}
        />
        {abilities.canWrite ? <AddSilentForm model={name} versions={candidatesFirst} /> : null}
      </section>

      <section className="card" aria-labelledby="comparison-title">
        <div className="card-head">
          <h2 id="comparison-title">Compared with production (last hour)</h2>
          {candidates.length ? <RefreshButton label="Refresh comparison" /> : null}
        </div>
        {candidates.length === 0 ? (
          <p className="muted empty-state">Add a pilot or a silent version to compare it with production.</p>
        ) : (
          <ComparisonTable
            candidates={candidates}
            comparisons={comparisons}
            versions={versions.ok ? versions.data : []}
          />
        )}
      </section>

      <section className="card" aria-labelledby="revisions-title">
        <h2 id="revisions-title">Revisions</h2>
        {!revisions.ok ? (
          <ErrorAlert message={revisions.message} />
        ) : revisions.data.items.length === 0 ? (
          <p className="muted empty-state">No revisions yet: the first save creates revision 1.</p>
        ) : (
          <RevisionTable
            model={name}
            revisions={revisions.data.items}
            current={current?.revision ?? null}
            canWrite={abilities.canWrite}
          />
        )}
      </section>
    </>
  );
}

function taskOf(v: TModelVersion | undefined): string | undefined {
  const sig = v?.signature ? ZSignature.safeParse(v.signature) : null;
  return sig?.success ? sig.data.task : undefined;
}

/** Candidate on top, production underneath: the pair is what people compare. */
function VersusCell({ candidate, production }: { candidate: string; production: string }) {
  return (
    <td className="nowrap">
      <div className="mono">{candidate}</div>
      <div className="small muted">prod {production}</div>
    </td>
  );
}

function ComparisonTable(p: {
  candidates: Candidate[];
  comparisons: Loaded<TDeploymentComparison>[];
  versions: TModelVersion[];
}) {
  return (
    <>
      <div className="table-scroll">
        <table className="table deployment-table comparison-table" aria-label="Comparison with production">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Requests</th>
              <th scope="col">Label agreement</th>
              <th scope="col">Mean |prob diff|</th>
              <th scope="col">Regression error</th>
              <th scope="col">Latency p50</th>
              <th scope="col">Latency p99</th>
              <th scope="col">Error rate</th>
            </tr>
          </thead>
          <tbody>
            {p.candidates.map((c, i) => {
              const loaded = p.comparisons[i]!;
              const head = (
                <th scope="row" className="nowrap">
                  v{c.version}{' '}
                  <span className={`badge ${c.role === 'pilot' ? 'badge-alias' : 'badge-muted'}`}>{c.role}</span>
                </th>
              );
              if (!loaded.ok) {
                return (
                  <tr key={`${c.role}-${c.version}`}>
                    {head}
                    <td colSpan={7}>
                      <ErrorAlert message={loaded.message} />
                    </td>
                  </tr>
                );
              }
              const r = loaded.data;
              const cand = r.latency.candidate;
              const prod = r.latency.production;
              if (r.compared === 0 && cand.count === 0 && r.errors === 0 && r.dropped === 0) {
                return (
                  <tr key={`${c.role}-${c.version}`}>
                    {head}
                    <td colSpan={7} className="muted">
                      No traffic yet:{' '}
                      {c.role === 'pilot'
                        ? 'no caller has been routed to this pilot'
                        : 'no production request has been copied to it'}{' '}
                      in the last hour.
                    </td>
                  </tr>
                );
              }
              const agreementNote =
                c.role === 'pilot'
                  ? "Production re-runs a sample of the pilot's requests to compare answers."
                  : undefined;
              const regression = taskOf(p.versions.find((v) => v.version === c.version)) === 'regression';
              return (
                <tr key={`${c.role}-${c.version}`}>
                  {head}
                  <td className="nowrap">
                    <div className="mono">{cand.count}</div>
                    <div className="small muted">
                      {r.compared} compared{r.dropped ? `, ${r.dropped} dropped` : ''}
                    </div>
                  </td>
                  <td className="mono" title={agreementNote}>
                    {formatPercent(r.labelAgreement)}
                  </td>
                  <td className="mono" title={agreementNote}>
                    {r.meanProbAbsDiff === null || regression ? '—' : formatMetric(r.meanProbAbsDiff)}
                  </td>
                  <td
                    className="mono"
                    title={
                      regression ? 'Mean absolute difference of the predicted values' : 'Only for regression models'
                    }
                  >
                    {regression && r.meanValueAbsDiff !== null ? formatMetric(r.meanValueAbsDiff) : '—'}
                  </td>
                  <VersusCell candidate={formatMs(cand.p50Ms)} production={formatMs(prod.p50Ms)} />
                  <VersusCell candidate={formatMs(cand.p99Ms)} production={formatMs(prod.p99Ms)} />
                  <VersusCell
                    candidate={formatPercent(cand.errorRate, 2)}
                    production={formatPercent(prod.errorRate, 2)}
                  />
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p className="hint">
        Label agreement and probability difference compare answers to the same requests: production's requests copied to
        a silent version, or a pilot's requests re-run on production. Latency and error rate are over the last hour;
        figures arrive within seconds of the traffic.
      </p>
    </>
  );
}

function RevisionTable(p: {
  model: string;
  revisions: TDeploymentRevision[];
  current: number | null;
  canWrite: boolean;
}) {
  const next = (p.revisions[0]?.revision ?? 0) + 1;
  const columns: Column<TDeploymentRevision>[] = [
    {
      key: 'revision',
      header: 'Revision',
      rowHeader: true,
      nowrap: true,
      sort: (r) => r.revision,
      cell: (r) => (
        <>
          {r.revision} {r.revision === p.current ? <span className="badge badge-ok">current</span> : null}
        </>
      ),
    },
    {
      key: 'author',
      header: 'Author',
      nowrap: true,
      sort: (r) => actorName(r.author),
      cell: (r) => (
        <>
          {actorName(r.author)}
          {r.author.kind === 'system' ? <span className="muted small"> (system)</span> : null}
        </>
      ),
    },
    {
      key: 'time',
      header: 'Time',
      nowrap: true,
      className: 'small',
      sort: (r) => r.createdAt,
      cell: (r) => <time dateTime={r.createdAt}>{formatTime(r.createdAt)}</time>,
    },
    { key: 'comment', header: 'Comment', className: 'summary', cell: (r) => r.comment || none },
    {
      key: 'config',
      header: 'Configuration',
      className: 'small',
      width: '30%',
      cell: (r) => summarizeConfig(r.config),
    },
  ];
  if (p.canWrite) {
    columns.push({
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      cell: (r) =>
        r.revision !== p.current ? <RollbackButton model={p.model} revision={r.revision} next={next} /> : null,
    });
  }
  return (
    <DataTable
      label="Revisions, newest first"
      className="deployment-table revisions-table"
      rows={p.revisions}
      rowKey={(r) => String(r.revision)}
      rowCurrent={(r) => r.revision === p.current}
      columns={columns}
      empty="No revisions yet: the first save creates revision 1."
      pageSize={25}
    />
  );
}
