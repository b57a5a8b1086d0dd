import { DOMAIN_EVENTS, DOMAIN_EVENT_TYPES, isDomainEventType, type TAuditEntry } from '@modelyard/contracts';

/** Audit actions are domain events; each says how the overview's activity list phrases it. */
const phraseOf = (action: string) => (isDomainEventType(action) ? DOMAIN_EVENTS[action].phrase : null);

/** Known actions, offered as suggestions by the audit log's filter. */
export const AUDIT_ACTIONS: readonly string[] = DOMAIN_EVENT_TYPES;

/** The name a summary carries for its object (a model, a user's email, a group), when it carries one. */
function subjectOf(summary: unknown): string | null {
  if (!summary || typeof summary !== 'object') return null;
  const s = summary as Record<string, unknown>;
  const name = s.model ?? s.email ?? s.name ?? s.group;
  if (typeof name !== 'string') return null;
  return typeof s.version === 'number' ? `${name} v${s.version}` : name;
}

export function describeAudit(e: Pick<TAuditEntry, 'action' | 'objectType' | 'summary'>): string {
  const phrase = phraseOf(e.action) ?? `${e.action} (${e.objectType})`;
  const subject = subjectOf(e.summary);
  return subject ? `${phrase} ${subject}` : phrase;
}
