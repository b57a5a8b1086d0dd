import type { Stage, THistoryEntry } from '@modelyard/contracts';

function versionList(numbers: number[]): string {
  const sorted = [...numbers].sort((a, b) => a - b);
  if (sorted.length === 1) return `version ${sorted[0]}`;
  return `versions ${sorted.slice(0, -1).join(', ')} and ${sorted[sorted.length - 1]}`;
}

/**
 * What a stage change does, in the words the confirmation shows. `production` lists the versions in Production
 * now; moving another one in archives them (the API's archivePrevious default, which the dashboard always uses).
 */
export function describeTransition(t: {
  model: string;
  version: number;
  from: Stage;
  to: Stage;
  production: number[];
  requiresApproval: boolean;
}): string {
  const others = t.production.filter((n) => n !== t.version);
  const many = others.length > 1;
  if (t.to === 'Production') {
    const displaced = others.length
      ? `${versionList(others)} ${many ? 'stop' : 'stops'} serving and ${many ? 'are' : 'is'} archived`
      : `no other version of ${t.model} is in Production now`;
    if (t.requiresApproval) {
      return (
        `${t.model} requires approval: this creates a request that a second approver must accept. ` +
        `Once accepted, version ${t.version} will serve production traffic; ${displaced}.`
      );
    }
    return `Version ${t.version} will serve production traffic; ${displaced}.`;
  }
  if (t.from === 'Production') {
    const after = others.length
      ? `${versionList(others)} ${many ? 'keep' : 'keeps'} serving.`
      : `No version of ${t.model} will be in Production: requests to its production stage will fail.`;
    return `Version ${t.version} stops serving production traffic and moves to ${t.to}. ${after}`;
  }
  const unaffected = 'Production is not affected.';
  if (t.to === 'Archived') return `Version ${t.version} is archived (from ${t.from}). ${unaffected}`;
  if (t.to === 'None') return `Version ${t.version} leaves ${t.from} and has no stage. ${unaffected}`;
  return `Version ${t.version} moves ${t.from === 'None' ? '' : `from ${t.from} `}to ${t.to}. ${unaffected}`;
}

/** Alias history values look like `champion@3`. */
function aliasTarget(value: string | null): { alias: string; version: string } | null {
  if (!value) return null;
  const at = value.lastIndexOf('@');
  return at > 0 ? { alias: value.slice(0, at), version: value.slice(at + 1) } : null;
}

/** One history entry as a sentence fragment: "registered", "None → Staging", "@champion: version 2 → version 3". */
export function describeHistory(h: THistoryEntry): { subject: string; change: string } {
  const subject = h.version !== null ? `Version ${h.version}` : 'Model';
  const arrow = (from: string | null, to: string | null) => `${from ?? '—'} → ${to ?? '—'}`;
  switch (h.kind) {
    case 'model':
      return { subject, change: h.to ?? 'changed' };
    case 'registered':
      return { subject, change: 'registered' };
    case 'status':
    case 'stage':
      return { subject, change: arrow(h.from, h.to) };
    case 'approval':
      if (h.to?.startsWith('requested:'))
        return { subject, change: `approval requested for ${h.to.slice('requested:'.length)}` };
      return { subject, change: `${h.from?.replace(/^requested:/, '') ?? ''} request ${h.to ?? 'decided'}`.trim() };
    case 'alias': {
      const from = aliasTarget(h.from);
      const to = aliasTarget(h.to);
      const alias = to?.alias ?? from?.alias ?? '?';
      if (!from && to) return { subject: `Alias @${alias}`, change: `set to version ${to.version}` };
      if (from && !to) return { subject: `Alias @${alias}`, change: `removed from version ${from.version}` };
      return { subject: `Alias @${alias}`, change: `version ${from?.version ?? '?'} → version ${to?.version ?? '?'}` };
    }
    case 'version':
      return { subject, change: h.to ?? arrow(h.from, h.to) };
    default:
      return { subject, change: `${h.kind}: ${arrow(h.from, h.to)}` };
  }
}
