import { type TDeploymentConfig, type TDeploymentRevision } from '@modelyard/contracts';
import { clientFor, loadCliConfig } from '../config.js';
import { UsageError, type Io } from '../output.js';

export interface DeployOpts {
  model?: string;
  version?: string;
  groups?: string;
  percentage?: string;
  'sample-rate'?: string;
  revision?: string;
  comment?: string;
  'follow-stage'?: boolean;
}

function client() {
  return clientFor(loadCliConfig());
}

function num(v: string | undefined, what: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${what} must be a number from ${min} to ${max}`);
  return n;
}

function describe(r: TDeploymentRevision | null): string {
  if (!r) return 'no deployment configured: Production stage serves everyone';
  const c = r.config;
  const lines = [
    `revision ${r.revision} by ${r.author.name ?? r.author.kind}${r.comment ? `: ${r.comment}` : ''}`,
    `production: ${c.production.mode === 'pinned' ? `version ${c.production.version} (pinned)` : 'the Production stage'}`,
    ...c.pilots.map(
      (p) =>
        `pilot: version ${p.version}${p.groups.length ? ` for groups ${p.groups.join(', ')}` : ''}${p.percentage ? ` for ${p.percentage}% of callers` : ''}`,
    ),
    ...c.silent.map((s) => `silent: version ${s.version} on ${Math.round(s.sampleRate * 100)}% of production traffic`),
  ];
  return lines.join('\n');
}

/** `modelyard deploy show|pilot|silent|production|rollback --model M …`: read-modify-write of the deployment. */
export async function deploy(io: Io, action: string | undefined, o: DeployOpts) {
  if (!o.model) throw new UsageError('--model is required');
  const api = client();
  const model = o.model;
  const current = (await api.getDeployment(model)).current;
  const config: TDeploymentConfig = current?.config ?? { production: { mode: 'stage' }, pilots: [], silent: [] };
  const version = num(o.version, 'version', 1, 2_147_483_647);
  let result: TDeploymentRevision;
  switch (action) {
    case 'show':
      io.result(describe(current), current);
      return;
    case 'pilot': {
      if (!version) throw new UsageError('--version is required');
      const names = (o.groups ?? '')
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean);
      const known = names.length ? await api.listGroups() : [];
      const groups = names.map((n) => {
        const g = known.find((x) => x.name === n || x.id === n);
        if (!g) throw new UsageError(`no group named ${n}`);
        return g.id;
      });
      const percentage = num(o.percentage, 'percentage', 0, 100) ?? 0;
      if (!groups.length && !percentage) throw new UsageError('a pilot needs --groups and/or --percentage');
      result = await api.putDeployment(
        model,
        { ...config, pilots: [...config.pilots.filter((p) => p.version !== version), { version, groups, percentage }] },
        o.comment ?? '',
      );
      break;
    }
    case 'silent': {
      if (!version) throw new UsageError('--version is required');
      const sampleRate = num(o['sample-rate'], 'sample-rate', 0, 1) ?? 1;
      result = await api.putDeployment(
        model,
        { ...config, silent: [...config.silent.filter((s) => s.version !== version), { version, sampleRate }] },
        o.comment ?? '',
      );
      break;
    }
    case 'production':
      if (!version && !o['follow-stage'])
        throw new UsageError('give --version N (pin it) or --follow-stage (serve the Production stage)');
      result = await api.putDeployment(
        model,
        { ...config, production: version ? { mode: 'pinned', version } : { mode: 'stage' } },
        o.comment ?? '',
      );
      break;
    case 'rollback':
      result = await api.rollbackDeployment(model, {
        revision: num(o.revision, 'revision', 1, 2_147_483_647),
        comment: o.comment ?? '',
      });
      break;
    default:
      throw new UsageError('usage: modelyard deploy show|pilot|silent|production|rollback --model M ...');
  }
  io.result(describe(result), result);
}
