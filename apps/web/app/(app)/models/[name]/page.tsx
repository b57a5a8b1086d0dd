import type { Metadata } from 'next';
import Link from 'next/link';
import {
  ZSignature, type TApproval, type TDriftWindowReport, type THistoryEntry, type TModelVersion, type TRegisteredModel, type TTensorSpec,
} from '@modelyard/contracts';
import { getMe, load, type Loaded } from '@/lib/api.server';
import { formatBytes, formatMetric, formatTime } from '@/lib/format';
import { describeHistory } from '@/lib/registry-text';
import { registryAbilities, type RegistryAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { AutoRefresh } from '@/components/auto-refresh';
import { DriftBadge } from '@/components/drift-badge';
import { AliasBadges, StageBadge, StatusBadge } from '@/components/registry-badges';
import { RegisterVersionForm } from '../register-version-form';
import { RemoveAliasButton, SetAliasForm } from './alias-controls';
import { StageControl } from './stage-control';

export async function generateMetadata({ params }: PageProps<'/models/[name]'>): Promise<Metadata> {
  return { title: (await params).name };
}

/** How many metrics fit in the versions table; the version detail lists them all. */
const KEY_METRICS = 3;

const artifactHref = (model: string, version: number) =>
  `/api/v1/models/${encodeURIComponent(model)}/versions/${version}/artifact`;
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
          <p className="breadcrumb"><Link href="/models">Models</Link> /</p>
          <h1>{name}</h1>
        </div>
        <ErrorAlert message={model.message} />
        <p><Link href="/models">Back to all models</Link></p>
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
          {abilities.canWrite ? <a href="#register" className="btn btn-secondary btn-small">Register a new version</a> : null}
        </div>
        {!versions.ok ? (
          <ErrorAlert message={versions.message} />
        ) : list.length === 0 ? (
          <p className="muted">No versions yet.{abilities.canWrite ? ' Upload the first one below.' : ''}</p>
        ) : (
          <VersionsTable model={m} versions={list} production={production} abilities={abilities} role={me.data.role} selected={selected?.version ?? null} />
        )}
      </section>

      <DriftStatus model={m} drift={drift} />

      {selected ? <VersionDetail model={m.name} v={selected} /> : null}

      <section className="card" aria-labelledby="aliases-title">
        <h2 id="aliases-title">Aliases</h2>
        <p className="muted small">Stable names that clients call instead of a version number; moving one switches them all at once.</p>
        <AliasTable model={m} canWrite={abilities.canWrite} />
        {abilities.canWrite && versions.ok ? (
          <SetAliasForm model={m.name} aliases={m.aliases} versions={list.filter((v) => v.status !== 'failed').map((v) => v.version)} />
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
      <p className="breadcrumb"><Link href="/models">Models</Link> /</p>
      <h1>{m.name}</h1>
      <p className="muted">{m.description || 'No description.'}</p>
      <dl className="facts">
        <div><dt>Owner</dt><dd>{actorName(m.owner)}</dd></div>
        <div>
          <dt>Approval policy</dt>
          <dd>{m.requiresApproval ? 'Production needs a second approver to accept' : 'Approvers promote directly'}</dd>
        </div>
        <div>
          <dt>Production</dt>
          <dd>{m.productionVersion !== null ? <span className="badge badge-stage-production">v{m.productionVersion}</span> : 'none'}</dd>
        </div>
        <div>
          <dt>Deployment</dt>
          <dd><Link href={`/models/${encodeURIComponent(m.name)}/deployment`}>Pilots, silent versions, revisions</Link></dd>
        </div>
        <div>
          <dt>Monitoring</dt>
          <dd>
            <Link href={`/models/${encodeURIComponent(m.name)}/latency`}>Latency and errors</Link>
            {' · '}
            <Link href={`/models/${encodeURIComponent(m.name)}/drift`}>Drift and alerts</Link>
          </dd>
        </div>
        <div><dt>Created</dt><dd>{formatTime(m.createdAt)}</dd></div>
        {tags.length ? (
          <div><dt>Tags</dt><dd>{tags.map(([k, v]) => <span key={k} className="badge badge-muted">{k}={v}</span>)}</dd></div>
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
        drift.status === 404 ? <p className="muted">{drift.message}.</p> : <ErrorAlert message={drift.message} />
      ) : !report ? (
        <p className="muted">The newest window of version {drift.data.version} has no report yet.</p>
      ) : (
        <>
          <p className="small">
            Version {drift.data.version}{drift.data.silent ? ' (silent traffic only)' : ''}: {report.rows} rows logged from{' '}
            {formatTime(drift.data.start)} to {formatTime(drift.data.end)}, compared with its reference.{' '}
            {report.driftedFeatures} of {report.evaluatedFeatures} features drifted (share {stat(report.driftShare, 2)}).
          </p>
          <table className="table table-compact drift-table" aria-label={`Drift of ${m.name} by feature`}>
            <thead>
              <tr>
                <th scope="col">Feature</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">PSI</th>
                <th scope="col" className="num">JS distance</th>
                <th scope="col" className="num">p-value</th>
                <th scope="col">Test</th>
              </tr>
            </thead>
            <tbody>
              {report.features.map((f) => (
                <tr key={f.name}>
                  <th scope="row" className="row-title mono">{f.name}</th>
                  <td><DriftBadge status={f.status} /></td>
                  <td className="num mono">{stat(f.psi)}</td>
                  <td className="num mono">{stat(f.js)}</td>
                  <td className="num mono">{f.pValue === null ? '—' : f.pValue < 0.001 ? '< 0.001' : stat(f.pValue)}</td>
                  <td className="small muted">{f.test ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function PendingApprovals({ approvals }: { approvals: TApproval[] }) {
  return (
    <div className="notice notice-warn" role="status">
      {approvals.map((a) => (
        <p key={a.id}>
          Version {a.version} waits for approval to go to {a.toStage} (requested by {actorName(a.requestedBy)}, {formatTime(a.createdAt)}).{' '}
          <Link href="/approvals">Review on the Approvals page</Link>
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
  return (
    <div className="table-scroll">
      <table className="table versions-table" aria-label={`Versions of ${m.name}`}>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Stage</th>
            <th scope="col">Aliases</th>
            <th scope="col">Metrics</th>
            <th scope="col">Created</th>
            <th scope="col">SHA-256</th>
            <th scope="col"><span className="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {props.versions.map((v) => {
            const metrics = Object.entries(v.metrics);
            return (
              <tr key={v.version} aria-current={v.version === props.selected ? 'true' : undefined}>
                <th scope="row" className="nowrap">
                  <Link href={`/models/${encodeURIComponent(m.name)}?version=${v.version}#version-detail`}>
                    v{v.version}
                  </Link>
                </th>
                <td>
                  <StatusBadge status={v.status} />
                  {v.failureReason ? <div className="small failure-reason">{v.failureReason}</div> : null}
                </td>
                <td><StageBadge stage={v.stage} /></td>
                <td><AliasBadges aliases={v.aliases} /></td>
                <td className="small">
                  {metrics.length ? (
                    <>
                      {metrics.slice(0, KEY_METRICS).map(([k, n]) => (
                        <div key={k} className="nowrap"><span className="muted">{k}</span> <span className="mono">{formatMetric(n)}</span></div>
                      ))}
                      {metrics.length > KEY_METRICS ? <div className="muted">+{metrics.length - KEY_METRICS} more</div> : null}
                    </>
                  ) : <span className="muted">—</span>}
                </td>
                <td className="small">
                  <div>{actorName(v.createdBy)}{v.createdBy.apiKeyId ? <span className="badge badge-muted" title="with an API key">key</span> : null}</div>
                  <div className="muted nowrap">{formatTime(v.createdAt)}</div>
                </td>
                <td className="mono small" title={v.sha256 ?? undefined}>{v.sha256 ? v.sha256.slice(0, 12) : '—'}</td>
                <td>
                  <div className="row-actions">
                    {v.status === 'ready' ? (
                      <a className="btn btn-link btn-small" href={artifactHref(m.name, v.version)} download aria-label={`Download version ${v.version}`}>
                        Download
                      </a>
                    ) : null}
                    {abilities.canWrite && v.status !== 'pending' ? (
                      <StageControl
                        model={m.name} version={v.version} stage={v.stage} status={v.status} production={props.production}
                        requiresApproval={m.requiresApproval} canPromote={abilities.canPromote} role={props.role}
                      />
                    ) : null}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function TensorTable({ caption, specs }: { caption: string; specs: TTensorSpec[] }) {
  return (
    <table className="table table-compact">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Shape</th>
          <th scope="col">Columns</th>
        </tr>
      </thead>
      <tbody>
        {specs.map((s) => (
          <tr key={s.name}>
            <td className="mono">{s.name}</td>
            <td className="mono">{s.dtype}</td>
            {/* -1 is a dimension the model leaves open, usually the batch. */}
            <td className="mono nowrap">[{s.shape.map((d) => (d === -1 ? 'N' : d)).join(', ')}]</td>
            <td>
              {s.columns?.length ? (
                <ol className="column-list" aria-label={`Columns of ${s.name}`}>
                  {s.columns.map((c) => <li key={c} className="mono">{c}</li>)}
                </ol>
              ) : <span className="muted">—</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function VersionDetail({ model, v }: { model: string; v: TModelVersion }) {
  const sig = v.signature ? ZSignature.safeParse(v.signature) : null;
  const lineage = Object.entries(v.lineage);
  const metrics = Object.entries(v.metrics);
  const tags = Object.entries(v.tags);
  const warnings = Array.isArray(v.metadata.validationWarnings) ? v.metadata.validationWarnings.map(String) : [];
  const classes = sig?.success ? sig.data.classes ?? [] : [];
  const classNames = sig?.success ? sig.data.classNames ?? [] : [];
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
          <dt>Created</dt><dd>{actorName(v.createdBy)}, {formatTime(v.createdAt)}</dd>
          <dt>Ready</dt><dd>{formatTime(v.readyAt)}</dd>
          <dt>Storage</dt>
          <dd>
            <span className="badge badge-muted">{v.storage.backend}</span>{' '}
            {/* The API deletes the blob of a failed upload it owned; the URI no longer leads anywhere. */}
            {v.status === 'failed' && v.storage.owned ? <span className="muted small">removed after failed validation</span> : <span className="mono small break">{v.storage.uri}</span>}
          </dd>
          <dt>Size</dt><dd>{formatBytes(v.sizeBytes)}</dd>
          <dt>SHA-256</dt><dd className="mono small break">{v.sha256 ?? '—'}</dd>
          <dt>Drift reference</dt><dd>{v.hasReference ? 'stored' : 'none'}</dd>
        </dl>
        <div>
          <h3>Lineage</h3>
          {lineage.length ? (
            <dl className="details">
              {lineage.map(([k, value]) => (
                <div key={k} className="details-row">
                  <dt>{LINEAGE_LABELS[k] ?? k}</dt>
                  <dd className="break">{/^https?:\/\//.test(value) ? <a href={value} rel="noreferrer">{value}</a> : <span className="mono small">{value}</span>}</dd>
                </div>
              ))}
            </dl>
          ) : <p className="muted small">No lineage recorded (git commit, run id, CI job, dataset).</p>}
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
          {sig.data.task ? <p className="small"><span className="muted">Task</span> {sig.data.task}</p> : null}
          <TensorTable caption="Inputs" specs={sig.data.inputs} />
          <TensorTable caption="Outputs" specs={sig.data.outputs} />
          {classes.length ? (
            <table className="table table-compact">
              <caption>Classes</caption>
              <thead><tr><th scope="col">Label</th><th scope="col">Name</th></tr></thead>
              <tbody>
                {classes.map((c, i) => (
                  <tr key={String(c)}><td className="mono">{String(c)}</td><td>{classNames[i] ?? <span className="muted">—</span>}</td></tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      )}
      {warnings.length ? (
        <>
          <h3>Validation warnings</h3>
          <ul className="small">{warnings.map((w) => <li key={w}>{w}</li>)}</ul>
        </>
      ) : null}

      <div className="detail-grid">
        <div>
          <h3>Metrics</h3>
          {metrics.length ? (
            <dl className="details">{metrics.map(([k, n]) => <div key={k} className="details-row"><dt>{k}</dt><dd className="mono">{formatMetric(n)}</dd></div>)}</dl>
          ) : <p className="muted small">None.</p>}
        </div>
        <div>
          <h3>Tags</h3>
          {tags.length ? (
            <dl className="details">{tags.map(([k, t]) => <div key={k} className="details-row"><dt>{k}</dt><dd>{t}</dd></div>)}</dl>
          ) : <p className="muted small">None.</p>}
        </div>
      </div>
      {v.status === 'ready' ? (
        <p><a href={artifactHref(model, v.version)} download>Download the ONNX file</a></p>
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
  if (aliases.length === 0) return <p className="muted">No aliases.</p>;
  return (
    <table className="table table-compact alias-table" aria-label={`Aliases of ${m.name}`}>
      <thead>
        <tr>
          <th scope="col">Alias</th>
          <th scope="col">Version</th>
          {canWrite ? <th scope="col"><span className="visually-hidden">Actions</span></th> : null}
        </tr>
      </thead>
      <tbody>
        {aliases.map(([alias, version]) => (
          <tr key={alias}>
            <td><span className="badge badge-alias">@{alias}</span></td>
            <td>v{version}</td>
            {canWrite ? <td><RemoveAliasButton model={m.name} alias={alias} version={version} /></td> : null}
          </tr>
        ))}
      </tbody>
    </table>
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
