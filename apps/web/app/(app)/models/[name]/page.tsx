import type { Metadata } from 'next';
import Link, { ApiLink } from '@/components/project';
import {
  ZSignature,
  type TApproval,
  type TDriftColumn,
  type TDriftWindowReport,
  type THistoryEntry,
  type TModelVersion,
  type TRegisteredModel,
  type TTensorSpec,
} from '@modelyard/contracts';
import { getMe, load, type Loaded } from '@/lib/api.server';
import { formatBytes, formatMetric, formatTime } from '@/lib/format';
import { describeHistory } from '@/lib/registry-text';
import { registryAbilities, type RegistryAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { DataTable, type Column } from '@/components/data-table';
import { AutoRefresh } from '@/components/auto-refresh';
import { DriftBadge } from '@/components/drift-badge';
import { AliasBadges, StageBadge, StatusBadge } from '@/components/registry-badges';
import { RegisterVersionForm } from '../register-version-form';
import { RemoveAliasButton, SetAliasForm } from './alias-controls';
import { StageControl } from './stage-control';
import { ExplainPanel } from './explain-panel';
import { ImportancePanel } from './importance-panel';

export async function generateMetadata({ params }: PageProps<'/models/[name]'>): Promise<Metadata> {
  return { title: (await params).name };
}

/** How many metrics fit in the versions table; the version detail lists them all. */
const KEY_METRICS = 3;

const artifactPath = (model: string, version: number) =>
  `/v1/models/${encodeURIComponent(model)}/versions/${version}/artifact`;
const actorName = (a: { kind: string; name: string | null }) => a.name ?? a.kind;

export default async function ModelPage({ params, searchParams }: PageProps<'/models/[name]'>) {
  const { name } = await params;
  const selectedParam = Number((await searchParams).version);
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const abilities = registryAbilities(me.data.role);

  const [model, versions, history, approvals, drift] = await Promise.all([
    load((api) => api.getModel(name)),
    load((api) => api.listVersions(name)),
    load((api) => api.history(name)),
    load((api) => api.listApprovals({ status: 'pending', model: name })),
    load((api) => api.driftLatest(name)),
  ]);

  if (!model.ok) {
    return (
      <>
        <div className="page-header">
          <p className="breadcrumb">
            <Link href="/models">Models</Link> /
          </p>
          <h1>{name}</h1>
        </div>
        <ErrorAlert message={model.message} />
        <p>
          <Link href="/models">Back to all models</Link>
        </p>
      </>
    );
  }
  const m = model.data;
  const list = versions.ok ? [...versions.data].sort((a, b) => b.version - a.version) : [];
  const production = list.filter((v) => v.stage === 'Production').map((v) => v.version);
  const selected = list.find((v) => v.version === selectedParam) ?? list[0] ?? null;

  return (
    <>
      <AutoRefresh active={list.some((v) => v.status === 'pending')} />
      <ModelHeader model={m} />

      {approvals.ok && approvals.data.length ? <PendingApprovals approvals={approvals.data} /> : null}
      {!approvals.ok ? <ErrorAlert message={`Cannot list approval requests: ${approvals.message}`} /> : null}

      <section className="card" aria-labelledby="versions-title">
        <div className="card-head">
          <h2 id="versions-title">Versions</h2>
          {abilities.canWrite ? (
            <a href="#register" className="btn btn-secondary btn-small">
              Register a new version
            </a>
          ) : null}
        </div>
        {!versions.ok ? (
          <ErrorAlert message={versions.message} />
        ) : list.length === 0 ? (
          <p className="muted">No versions yet.{abilities.canWrite ? ' Upload the first one below.' : ''}</p>
        ) : (
          <VersionsTable
            model={m}
            versions={list}
            production={production}
            abilities={abilities}
            role={me.data.role ?? 'viewer'}
            selected={selected?.version ?? null}
          />
        )}
      </section>

      <DriftStatus model={m} drift={drift} />

      {selected ? <VersionDetail model={m.name} v={selected} /> : null}

      <section className="card" aria-labelledby="aliases-title">
        <h2 id="aliases-title">Aliases</h2>
        <p className="muted small">
          Stable names that clients call instead of a version number; moving one switches them all at once.
        </p>
        <AliasTable model={m} canWrite={abilities.canWrite} />
        {abilities.canWrite && versions.ok ? (
          <SetAliasForm
            model={m.name}
            aliases={m.aliases}
            versions={list.filter((v) => v.status !== 'failed').map((v) => v.version)}
          />
        ) : null}
      </section>

      {abilities.canWrite ? (
        <section className="card" id="register" aria-labelledby="register-title">
          <h2 id="register-title">Register a new version</h2>
          <RegisterVersionForm model={m.name} />
        </section>
      ) : null}

      <section className="card" aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        {!history.ok ? <ErrorAlert message={history.message} /> : <HistoryTimeline entries={history.data} />}
      </section>
    </>
  );
}

function ModelHeader({ model: m }: { model: TRegisteredModel }) {
  const tags = Object.entries(m.tags);
  return (
    <div className="page-header">
      <p className="breadcrumb">
        <Link href="/models">Models</Link> /
      </p>
      <h1>{m.name}</h1>
      <p className="muted">{m.description || 'No description.'}</p>
      <dl className="facts">
        <div>
          <dt>Owner</dt>
          <dd>{actorName(m.owner)}</dd>
        </div>
        <div>
          <dt>Approval policy</dt>
          <dd>{m.requiresApproval ? 'Production needs a second approver to accept' : 'Approvers promote directly'}</dd>
        </div>
        <div>
          <dt>Production</dt>
          <dd>
            {m.productionVersion !== null ? (
              <span className="badge badge-stage-production">v{m.productionVersion}</span>
            ) : (
              'none'
            )}
          </dd>
        </div>
        <div>
          <dt>Deployment</dt>
          <dd>
            <Link href={`/models/${encodeURIComponent(m.name)}/deployment`}>Pilots, silent versions, revisions</Link>
          </dd>
        </div>
        <div>
          <dt>Monitoring</dt>
          <dd>
            <Link href={`/models/${encodeURIComponent(m.name)}/latency`}>Latency and errors</Link>
            {' · '}
            <Link href={`/models/${encodeURIComponent(m.name)}/drift`}>Drift and alerts</Link>
            {' · '}
            <Link href={`/models/${encodeURIComponent(m.name)}/performance`}>Performance</Link>
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatTime(m.createdAt)}</dd>
        </div>
        {tags.length ? (
          <div>
            <dt>Tags</dt>
            <dd>
              {tags.map(([k, v]) => (
                <span key={k} className="badge badge-muted">
                  {k}={v}
                </span>
              ))}
            </dd>
          </div>
        ) : null}
      </dl>
    </div>
  );
}

const stat = (n: number | null, digits = 3) => (n === null ? '—' : String(Number(n.toPrecision(digits))));

/** The newest drift window of the serving version: status, and which features moved (`GET …/drift/latest`). */
function DriftStatus({ model: m, drift }: { model: TRegisteredModel; drift: Loaded<TDriftWindowReport> }) {
  const report = drift.ok ? drift.data.report : null;
  return (
    <section className="card" id="drift" aria-labelledby="drift-title">
      <div className="card-head">
        <h2 id="drift-title">Drift</h2>
        {report ? <DriftBadge status={report.status} /> : null}
      </div>
      {!drift.ok ? (
        // 404 is the ordinary "nothing to compare yet"; its message says what is missing.
        drift.status === 404 ? (
          <p className="muted">{drift.message}.</p>
        ) : (
          <ErrorAlert message={drift.message} />
        )
      ) : !report ? (
        <p className="muted">The newest window of version {drift.data.version} has no report yet.</p>
      ) : (
        <>
          <p className="small">
            Version {drift.data.version}
            {drift.data.silent ? ' (silent traffic only)' : ''}: {report.rows} rows logged from{' '}
            {formatTime(drift.data.start)} to {formatTime(drift.data.end)}, compared with its reference.{' '}
            {report.driftedFeatures} of {report.evaluatedFeatures} features drifted (share {stat(report.driftShare, 2)}
            ).
          </p>
          <DataTable
            label={`Drift of ${m.name} by feature`}
            compact
            className="drift-table"
            rows={report.features}
            rowKey={(f) => f.name}
            columns={DRIFT_COLUMNS}
            empty="No features were evaluated."
          />
        </>
      )}
    </section>
  );
}

const DRIFT_COLUMNS: Column<TDriftColumn>[] = [
  { key: 'feature', header: 'Feature', rowHeader: true, className: 'mono', sort: (f) => f.name, cell: (f) => f.name },
  { key: 'status', header: 'Status', sort: (f) => f.status, cell: (f) => <DriftBadge status={f.status} /> },
  { key: 'psi', header: 'PSI', align: 'right', className: 'mono', sort: (f) => f.psi, cell: (f) => stat(f.psi) },
  { key: 'js', header: 'JS distance', align: 'right', className: 'mono', sort: (f) => f.js, cell: (f) => stat(f.js) },
  {
    key: 'p',
    header: 'p-value',
    align: 'right',
    className: 'mono',
    sort: (f) => f.pValue,
    cell: (f) => (f.pValue === null ? '—' : f.pValue < 0.001 ? '< 0.001' : stat(f.pValue)),
  },
  { key: 'test', header: 'Test', className: 'small muted', cell: (f) => f.test ?? '—' },
];

function PendingApprovals({ approvals }: { approvals: TApproval[] }) {
  return (
    <div className="notice notice-warn" role="status">
      {approvals.map((a) => (
        <p key={a.id}>
          Version {a.version} waits for approval to go to {a.toStage} (requested by {actorName(a.requestedBy)},{' '}
          {formatTime(a.createdAt)}). <Link href="/approvals">Review on the Approvals page</Link>
        </p>
      ))}
    </div>
  );
}

function VersionsTable(props: {
  model: TRegisteredModel;
  versions: TModelVersion[];
  production: number[];
  abilities: RegistryAbilities;
  role: string;
  selected: number | null;
}) {
  const { model: m, abilities } = props;
  const columns: Column<TModelVersion>[] = [
    {
      key: 'version',
      header: 'Version',
      rowHeader: true,
      nowrap: true,
      sort: (v) => v.version,
      cell: (v) => (
        <Link href={`/models/${encodeURIComponent(m.name)}?version=${v.version}#version-detail`}>v{v.version}</Link>
      ),
    },
    {
      key: 'status',
      header: 'Status',
      sort: (v) => v.status,
      cell: (v) => (
        <>
          <StatusBadge status={v.status} />
          {v.failureReason ? <div className="small failure-reason">{v.failureReason}</div> : null}
        </>
      ),
    },
    { key: 'stage', header: 'Stage', sort: (v) => v.stage, cell: (v) => <StageBadge stage={v.stage} /> },
    { key: 'aliases', header: 'Aliases', hideBelow: 'lg', cell: (v) => <AliasBadges aliases={v.aliases} /> },
    {
      key: 'metrics',
      header: 'Metrics',
      className: 'small',
      hideBelow: 'md',
      cell: (v) => {
        const metrics = Object.entries(v.metrics);
        if (!metrics.length) return <span className="muted">—</span>;
        return (
          <>
            {metrics.slice(0, KEY_METRICS).map(([k, n]) => (
              <div key={k} className="nowrap">
                <span className="muted">{k}</span> <span className="mono">{formatMetric(n)}</span>
              </div>
            ))}
            {metrics.length > KEY_METRICS ? <div className="muted">+{metrics.length - KEY_METRICS} more</div> : null}
          </>
        );
      },
    },
    {
      key: 'created',
      header: 'Created',
      className: 'small',
      sort: (v) => v.createdAt,
      cell: (v) => (
        <>
          <div>
            {actorName(v.createdBy)}
            {v.createdBy.apiKeyId ? (
              <span className="badge badge-muted" title="with an API key">
                key
              </span>
            ) : null}
          </div>
          <div className="muted nowrap">{formatTime(v.createdAt)}</div>
        </>
      ),
    },
    {
      key: 'sha',
      header: 'SHA-256',
      className: 'mono small',
      nowrap: true,
      hideBelow: 'lg',
      cell: (v) => (v.sha256 ? <span title={v.sha256}>{v.sha256.slice(0, 12)}</span> : '—'),
    },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      cell: (v) => (
        <div className="row-actions">
          {v.status === 'ready' ? (
            <ApiLink
              className="btn btn-link btn-small"
              path={artifactPath(m.name, v.version)}
              download
              aria-label={`Download version ${v.version}`}
            >
              Download
            </ApiLink>
          ) : null}
          {abilities.canWrite && v.status !== 'pending' ? (
            <StageControl
              model={m.name}
              version={v.version}
              stage={v.stage}
              status={v.status}
              production={props.production}
              requiresApproval={m.requiresApproval}
              canPromote={abilities.canPromote}
              role={props.role}
            />
          ) : null}
        </div>
      ),
    },
  ];
  return (
    <DataTable
      label={`Versions of ${m.name}`}
      className="versions-table"
      rows={props.versions}
      rowKey={(v) => String(v.version)}
      columns={columns}
      rowCurrent={(v) => v.version === props.selected}
      empty="No versions yet."
      pageSize={25}
    />
  );
}

const TENSOR_COLUMNS: Column<TTensorSpec>[] = [
  { key: 'name', header: 'Name', className: 'mono', cell: (s) => s.name },
  { key: 'type', header: 'Type', className: 'mono', cell: (s) => s.dtype },
  // -1 is a dimension the model leaves open, usually the batch.
  {
    key: 'shape',
    header: 'Shape',
    className: 'mono',
    nowrap: true,
    cell: (s) => `[${s.shape.map((d) => (d === -1 ? 'N' : d)).join(', ')}]`,
  },
  {
    key: 'columns',
    header: 'Columns',
    width: '50%',
    cell: (s) =>
      s.columns?.length ? (
        <ol className="column-list" aria-label={`Columns of ${s.name}`}>
          {s.columns.map((c) => (
            <li key={c} className="mono">
              {c}
            </li>
          ))}
        </ol>
      ) : (
        <span className="muted">—</span>
      ),
  },
];

function TensorTable({ caption, specs }: { caption: string; specs: TTensorSpec[] }) {
  return (
    <DataTable
      label={caption}
      caption
      compact
      rows={specs}
      rowKey={(s) => s.name}
      columns={TENSOR_COLUMNS}
      empty="None."
    />
  );
}

function VersionDetail({ model, v }: { model: string; v: TModelVersion }) {
  const sig = v.signature ? ZSignature.safeParse(v.signature) : null;
  const lineage = Object.entries(v.lineage);
  const metrics = Object.entries(v.metrics);
  const tags = Object.entries(v.tags);
  const warnings = Array.isArray(v.metadata.validationWarnings) ? v.metadata.validationWarnings.map(String) : [];
  const classes = sig?.success ? (sig.data.classes ?? []) : [];
  const classNames = sig?.success ? (sig.data.classNames ?? []) : [];
  return (
    <section className="card" id="version-detail" aria-labelledby="version-detail-title">
      <div className="card-head">
        <h2 id="version-detail-title">Version {v.version}</h2>
        <span className="badge-list">
          <StatusBadge status={v.status} />
          {v.stage !== 'None' ? <StageBadge stage={v.stage} /> : null}
          {v.aliases.length ? <AliasBadges aliases={v.aliases} /> : null}
        </span>
      </div>
      {v.description ? <p>{v.description}</p> : null}
      {v.failureReason ? <p className="alert alert-error">Validation failed: {v.failureReason}</p> : null}
      <div className="detail-grid">
        <dl className="details">
          <dt>Created</dt>
          <dd>
            {actorName(v.createdBy)}, {formatTime(v.createdAt)}
          </dd>
          <dt>Ready</dt>
          <dd>{formatTime(v.readyAt)}</dd>
          <dt>Storage</dt>
          <dd>
            <span className="badge badge-muted">{v.storage.backend}</span>{' '}
            {/* The API deletes the blob of a failed upload it owned; the URI no longer leads anywhere. */}
            {v.status === 'failed' && v.storage.owned ? (
              <span className="muted small">removed after failed validation</span>
            ) : (
              <span className="mono small break">{v.storage.uri}</span>
            )}
          </dd>
          <dt>Size</dt>
          <dd>{formatBytes(v.sizeBytes)}</dd>
          <dt>SHA-256</dt>
          <dd className="mono small break">{v.sha256 ?? '—'}</dd>
          <dt>Drift reference</dt>
          <dd>{v.hasReference ? 'stored' : 'none'}</dd>
        </dl>
        <div>
          <h3>Lineage</h3>
          {lineage.length ? (
            <dl className="details">
              {lineage.map(([k, value]) => (
                <div key={k} className="details-row">
                  <dt>{LINEAGE_LABELS[k] ?? k}</dt>
                  <dd className="break">
                    {/^https?:\/\//.test(value) ? (
                      <a href={value} rel="noreferrer">
                        {value}
                      </a>
                    ) : (
                      <span className="mono small">{value}</span>
                    )}
                  </dd>
                </div>
              ))}
            </dl>
          ) : (
            <p className="muted small">No lineage recorded (git commit, run id, CI job, dataset).</p>
          )}
        </div>
      </div>

      <h3>Signature</h3>
      {v.status === 'pending' ? (
        <p className="muted">The signature is read when validation finishes.</p>
      ) : !sig ? (
        <p className="muted">No signature.</p>
      ) : !sig.success ? (
        <pre className="code-block">{JSON.stringify(v.signature, null, 2)}</pre>
      ) : (
        <div className="signature">
          {sig.data.task ? (
            <p className="small">
              <span className="muted">Task</span> {sig.data.task}
            </p>
          ) : null}
          <TensorTable caption="Inputs" specs={sig.data.inputs} />
          <TensorTable caption="Outputs" specs={sig.data.outputs} />
          {classes.length ? (
            <DataTable
              label="Classes"
              caption
              compact
              rows={classes.map((c, i) => ({ label: String(c), name: classNames[i] }))}
              rowKey={(c) => c.label}
              empty="None."
              columns={[
                { key: 'label', header: 'Label', className: 'mono', cell: (c) => c.label },
                { key: 'name', header: 'Name', cell: (c) => c.name ?? <span className="muted">—</span> },
              ]}
            />
          ) : null}
        </div>
      )}
      <ExplainSection model={model} v={v} />
      {warnings.length ? (
        <>
          <h3>Validation warnings</h3>
          <ul className="small">
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </>
      ) : null}

      <div className="detail-grid">
        <div>
          <h3>Metrics</h3>
          {metrics.length ? (
            <dl className="details">
              {metrics.map(([k, n]) => (
                <div key={k} className="details-row">
                  <dt>{k}</dt>
                  <dd className="mono">{formatMetric(n)}</dd>
                </div>
              ))}
            </dl>
          ) : (
            <p className="muted small">None.</p>
          )}
        </div>
        <div>
          <h3>Tags</h3>
          {tags.length ? (
            <dl className="details">
              {tags.map(([k, t]) => (
                <div key={k} className="details-row">
                  <dt>{k}</dt>
                  <dd>{t}</dd>
                </div>
              ))}
            </dl>
          ) : (
            <p className="muted small">None.</p>
          )}
        </div>
      </div>
      {v.status === 'ready' ? (
        <p>
          <ApiLink path={artifactPath(model, v.version)} download>
            Download the ONNX file
          </ApiLink>
        </p>
      ) : null}
    </section>
  );
}

const LINEAGE_LABELS: Record<string, string> = {
  gitCommit: 'Git commit',
  sourceRunId: 'Source run',
  ciJobUrl: 'CI job',
  trainingDatasetUri: 'Training data',
};

function AliasTable({ model: m, canWrite }: { model: TRegisteredModel; canWrite: boolean }) {
  const aliases = Object.entries(m.aliases).sort(([a], [b]) => a.localeCompare(b));
  const columns: Column<[string, number]>[] = [
    { key: 'alias', header: 'Alias', sort: ([a]) => a, cell: ([a]) => <span className="badge badge-alias">@{a}</span> },
    { key: 'version', header: 'Version', sort: ([, v]) => v, cell: ([, v]) => `v${v}` },
  ];
  if (canWrite) {
    columns.push({
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      cell: ([alias, version]) => <RemoveAliasButton model={m.name} alias={alias} version={version} />,
    });
  }
  return (
    <DataTable
      label={`Aliases of ${m.name}`}
      compact
      className="alias-table"
      rows={aliases}
      rowKey={([a]) => a}
      columns={columns}
      empty="No aliases."
    />
  );
}

function HistoryTimeline({ entries }: { entries: THistoryEntry[] }) {
  if (entries.length === 0) return <p className="muted">Nothing has happened yet.</p>;
  return (
    <ol className="timeline" aria-label="History, newest first">
      {entries.map((h) => {
        const { subject, change } = describeHistory(h);
        return (
          <li key={h.id} className={`timeline-item timeline-${h.kind}`}>
            <div className="timeline-what">
              <strong>{subject}</strong> <span>{change}</span>
            </div>
            <div className="timeline-meta small muted">
              by <span className="timeline-actor">{actorName(h.actor)}</span>
              {h.actor.kind === 'system' ? ' (system)' : ''} · <time dateTime={h.at}>{formatTime(h.at)}</time>
            </div>
            {h.comment ? <blockquote className="timeline-comment small">{h.comment}</blockquote> : null}
          </li>
        );
      })}
    </ol>
  );
}

/** Features of a version explanations work for: one float32 input [N, m] with named columns (at most 32 fields). */
function ExplainSection({ model, v }: { model: string; v: TModelVersion }) {
  const sig = v.signature ? ZSignature.safeParse(v.signature) : null;
  if (v.status !== 'ready' || !sig?.success) return null;
  const input = sig.data.inputs.length === 1 ? sig.data.inputs[0]! : null;
  const columns = input?.dtype === 'float32' && input.shape.length === 2 ? (input.columns ?? []) : [];
  if (!columns.length || columns.length > 32) return null;
  const sample = Array.isArray(v.sampleInput) ? (v.sampleInput[0] as Record<string, unknown> | undefined) : undefined;
  const initial = Object.fromEntries(columns.map((c) => [c, typeof sample?.[c] === 'number' ? sample[c] : 0]));
  return (
    <>
      <h3 id="explain-title">Explain a prediction</h3>
      {v.hasReference ? (
        <>
          <ExplainPanel model={model} version={v.version} features={columns} initial={initial} />
          <h3 id="importance-title">Global importance</h3>
          <ImportancePanel model={model} version={v.version} />
        </>
      ) : (
        <p className="muted small">
          Explanations are computed against the version&apos;s reference dataset; this version has none.
        </p>
      )}
    </>
  );
}
