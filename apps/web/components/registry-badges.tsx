import type { Stage, TModelVersion } from '@modelyard/contracts';

/** "None" is the absence of a stage: shown as a quiet dash, so the stages that matter stand out. */
export function StageBadge({ stage }: { stage: Stage }) {
  if (stage === 'None') return <span className="muted">—</span>;
  return <span className={`badge badge-stage-${stage.toLowerCase()}`}>{stage}</span>;
}

export function StatusBadge({ status }: { status: TModelVersion['status'] }) {
  return <span className={`badge badge-status-${status}`}>{status}</span>;
}

export function AliasBadges({ aliases }: { aliases: string[] }) {
  if (aliases.length === 0) return <span className="muted">—</span>;
  return (
    <span className="badge-list">
      {aliases.map((a) => (
        <span key={a} className="badge badge-alias">
          @{a}
        </span>
      ))}
    </span>
  );
}
