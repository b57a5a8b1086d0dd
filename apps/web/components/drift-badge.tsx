import type { TDriftStatus } from '@modelyard/contracts';

const LABELS: Record<TDriftStatus, string> = { ok: 'no drift', warn: 'drift warning', drift: 'drift' };

/** A version's dataset drift status from its latest window (the API's ok / warn / drift). */
export function DriftBadge({ status }: { status: TDriftStatus }) {
  return <span className={`badge badge-drift-${status}`}>{LABELS[status]}</span>;
}
