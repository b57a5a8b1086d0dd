import type { TAuditEntry } from '@modelyard/contracts';

/** Audit actions as a phrase, for the overview's activity list; the audit page shows the raw action. */
const PHRASES: Record<string, string> = {
  'auth.login': 'signed in',
  'auth.logout': 'signed out',
  'auth.login_failed': 'failed to sign in',
  'user.created': 'created user',
  'user.updated': 'changed user',
  'group.created': 'created group',
  'group.deleted': 'deleted group',
  'group.member_added': 'added a member to group',
  'group.member_removed': 'removed a member from group',
  'model.created': 'created model',
  'model.updated': 'changed model',
  'model.deleted': 'deleted model',
  'version.created': 'registered a version of',
  'version.stage_changed': 'changed the stage of a version of',
  'version.deleted': 'deleted a version of',
  'alias.set': 'set an alias of',
  'alias.deleted': 'removed an alias of',
  'approval.requested': 'requested approval for',
  'deployment.changed': 'changed the deployment of',
  'deployment.rolled_back': 'rolled back a pilot of',
  'alerts.rules_changed': 'changed the alert rules of',
  'job.created': 'started a job on',
  'job.cancelled': 'cancelled a job',
  'job.retried': 'retried a job',
  'webhook.created': 'created a webhook',
  'webhook.deleted': 'deleted a webhook',
};

/** Known actions, offered as suggestions by the audit log's filter. */
export const AUDIT_ACTIONS = Object.keys(PHRASES);

/** The name a summary carries for its object (a model, a user's email, a group), when it carries one. */
function subjectOf(summary: unknown): string | null {
  if (!summary || typeof summary !== 'object') return null;
  const s = summary as Record<string, unknown>;
  const name = s.model ?? s.email ?? s.name ?? s.group;
  if (typeof name !== 'string') return null;
  return typeof s.version === 'number' ? `${name} v${s.version}` : name;
}

export function describeAudit(e: Pick<TAuditEntry, 'action' | 'objectType' | 'summary'>): string {
  const phrase = PHRASES[e.action] ?? `${e.action} (${e.objectType})`;
  const subject = subjectOf(e.summary);
  return subject ? `${phrase} ${subject}` : phrase;
}
