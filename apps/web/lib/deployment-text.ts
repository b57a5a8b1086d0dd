import type { TDeploymentConfig, TPilot } from '@modelyard/contracts';
import { formatTime } from './format';

type Production = TDeploymentConfig['production'];

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Percentages are free floats in the contract; nobody reads 33.333333 as anything but 33.33. */
export function formatPercent(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined) return '—';
  return `${Number((fraction * 100).toFixed(digits))}%`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

/** Who a pilot answers, in the order the API routes (PredictionService.select: group pilots, then percentages). */
export function describeRouting(p: TPilot, groupNames: Map<string, string>): string {
  const parts: string[] = [];
  if (p.groups.length) {
    const names = p.groups.map((id) => groupNames.get(id) ?? `an unknown group (${id.slice(0, 8)}…)`);
    parts.push(`callers in ${p.groups.length === 1 ? 'group' : 'groups'} ${list(names)}`);
  }
  if (p.percentage > 0) {
    parts.push(
      `${Number(p.percentage.toFixed(2))}% of ${p.groups.length ? 'other ' : ''}callers, by routing key (X-Routing-Key, else the API key)`,
    );
  }
  const who = parts.join('; ');
  return `${who.charAt(0).toUpperCase()}${who.slice(1)}.`;
}

/** The pilot's time window; the API compares with its own clock, start inclusive, end exclusive. */
export function describeWindow(
  p: Pick<TPilot, 'startsAt' | 'endsAt'>,
  now = Date.now(),
): { text: string; state: 'active' | 'scheduled' | 'ended' } {
  const starts = p.startsAt ? Date.parse(p.startsAt) : null;
  const ends = p.endsAt ? Date.parse(p.endsAt) : null;
  const state = starts !== null && now < starts ? 'scheduled' : ends !== null && now >= ends ? 'ended' : 'active';
  if (starts === null && ends === null) return { text: 'Always', state };
  if (starts !== null && ends !== null) return { text: `${formatTime(p.startsAt)} to ${formatTime(p.endsAt)}`, state };
  if (starts !== null) return { text: `From ${formatTime(p.startsAt)}`, state };
  return { text: `Until ${formatTime(p.endsAt)}`, state };
}

export function describeAutoRollback(a: TPilot['autoRollback']): string | null {
  if (!a) return null;
  const limits = [
    a.maxErrorRate !== undefined ? `error rate over ${formatPercent(a.maxErrorRate, 2)}` : null,
    a.maxP99Ms !== undefined ? `p99 over ${a.maxP99Ms} ms` : null,
  ].filter((s): s is string => s !== null);
  return `Switched off if ${limits.join(' or ')} over ${a.windowMinutes} min (at least ${a.minRequests} requests)`;
}

/** A pilot's statistical rule (issue 18) in one sentence. */
export function describeJudge(j: TPilot['judge']): string | null {
  if (!j) return null;
  const acts = [j.promote ? 'promoted when better' : null, j.rollback ? 'rolled back when worse' : null].filter(
    (s): s is string => s !== null,
  );
  if (!acts.length) return null;
  return `Judged on ${j.metric}: ${acts.join(', ')} than production with ${formatPercent(j.confidence, 1)} confidence, after at least ${j.minLabels} labelled predictions each in ${j.windowMinutes} min`;
}

/** What production serves, in one sentence, with the version that answers now. */
export function describeProduction(p: Production, stageVersion: number | null): string {
  if (p.mode === 'pinned') {
    const stage =
      stageVersion === null
        ? 'no version is in the Production stage'
        : `the Production stage has version ${stageVersion}`;
    return `Pinned to version ${p.version} (${stage}).`;
  }
  return stageVersion === null
    ? 'Follows the Production stage, which has no version now.'
    : `Follows the Production stage: version ${stageVersion} answers.`;
}

/** A one-line summary of a revision's configuration for the revision list. */
export function summarizeConfig(c: TDeploymentConfig): string {
  const production =
    c.production.mode === 'pinned' ? `production pinned to v${c.production.version}` : 'production follows the stage';
  const pilots = c.pilots.length ? `pilots ${c.pilots.map((p) => `v${p.version}`).join(', ')}` : 'no pilots';
  const silent = c.silent.length ? `silent ${c.silent.map((s) => `v${s.version}`).join(', ')}` : 'no silent versions';
  return `${production}; ${pilots}; ${silent}`;
}
