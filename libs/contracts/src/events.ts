import { z } from 'zod';
import { ZAlert } from './drift.js';
import type { WebhookEvent } from './webhooks.js';

/**
 * Domain events: every state change, named once. A service writes its event into the outbox in the same
 * transaction as the change; one dispatcher then hands it, at least once, to every consumer that cares: the audit
 * log (every event), webhooks (`webhook`), the serving state of api processes (`serving`: the event's
 * `data.model` now serves something else) and the job queues (follow-up work, declared beside the dispatcher).
 * `phrase` is how the dashboard's activity list says it.
 */
export interface EventDef {
  objectType: string;
  data: z.ZodType<Record<string, unknown>>;
  phrase: string;
  webhook?: WebhookEvent;
  serving?: true;
}

const model = z.string();
const version = z.number().int();
/** Audit summaries of events no consumer but the audit log reads: ids and names only, never secrets. */
const summary = z.record(z.string(), z.unknown());
const change = z.object({ before: summary, after: summary });

/** Stream deployment events: the model, the stream's name, and what changed (options, rewind position). */
function streamEvent(phrase: string) {
  return {
    objectType: 'streamDeployment',
    phrase,
    webhook: 'stream.changed',
    data: z.object({ model, stream: z.string(), action: z.string() }).catchall(z.unknown()),
  } as const;
}

export const DOMAIN_EVENTS = {
  'auth.login': { objectType: 'user', data: summary, phrase: 'signed in' },
  'auth.logout': { objectType: 'user', data: summary, phrase: 'signed out' },
  'auth.login_failed': { objectType: 'user', data: summary, phrase: 'failed to sign in' },
  'user.created': { objectType: 'user', data: summary, phrase: 'created user' },
  'user.updated': { objectType: 'user', data: summary, phrase: 'changed user' },
  'serviceAccount.created': { objectType: 'serviceAccount', data: summary, phrase: 'created service account' },
  'serviceAccount.updated': { objectType: 'serviceAccount', data: summary, phrase: 'changed service account' },
  'apiKey.created': { objectType: 'apiKey', data: summary, phrase: 'created an API key' },
  'apiKey.revoked': { objectType: 'apiKey', data: summary, phrase: 'revoked an API key' },
  'group.created': { objectType: 'group', data: summary, phrase: 'created group' },
  'group.deleted': { objectType: 'group', data: summary, phrase: 'deleted group' },
  'group.member_added': { objectType: 'group', data: summary, phrase: 'added a member to group' },
  'group.member_removed': { objectType: 'group', data: summary, phrase: 'removed a member from group' },
  'webhook.created': { objectType: 'webhook', data: summary, phrase: 'created a webhook' },
  'webhook.deleted': { objectType: 'webhook', data: summary, phrase: 'deleted a webhook' },
  'project.created': { objectType: 'project', data: summary, phrase: 'created project' },
  'project.updated': { objectType: 'project', data: summary, phrase: 'changed project' },
  'project.deleted': { objectType: 'project', data: summary, phrase: 'deleted project' },
  'project.grant_set': { objectType: 'project', data: summary, phrase: 'granted a role on project' },
  'project.grant_removed': { objectType: 'project', data: summary, phrase: 'removed a role from project' },

  'model.created': {
    objectType: 'model',
    data: z.object({ model }),
    phrase: 'created model',
    webhook: 'model.created',
  },
  'model.updated': { objectType: 'model', data: change.extend({ model }), phrase: 'changed model', serving: true },
  'model.deleted': {
    objectType: 'model',
    data: z.object({ model, versions: z.number().int() }),
    phrase: 'deleted model',
    serving: true,
  },
  'version.created': {
    objectType: 'modelVersion',
    data: z.object({ model, version, uri: z.string() }),
    phrase: 'registered a version of',
  },
  /** Validation passed: the version can be staged, aliased and served. */
  'version.ready': {
    objectType: 'modelVersion',
    phrase: 'validated a version of',
    webhook: 'version.registered',
    serving: true,
    data: z.object({ model, version, sha256: z.string(), signature: z.unknown(), hasReference: z.boolean() }),
  },
  'version.failed': {
    objectType: 'modelVersion',
    data: z.object({ model, version, reason: z.string() }),
    phrase: 'failed validation of a version of',
    webhook: 'version.failed',
  },
  'version.updated': { objectType: 'modelVersion', data: z.object({ model, version }), phrase: 'changed a version of' },
  'version.deleted': {
    objectType: 'modelVersion',
    data: z.object({ model, version }),
    phrase: 'deleted a version of',
    serving: true,
  },
  /** One per version that moved: a promotion that archives the old Production version records two. */
  'version.stage_changed': {
    objectType: 'modelVersion',
    phrase: 'changed the stage of a version of',
    webhook: 'stage.changed',
    serving: true,
    data: z.object({ model, version, from: z.string(), to: z.string(), comment: z.string() }),
  },
  'approval.requested': {
    objectType: 'approval',
    data: z.object({ model, version, approvalId: z.string() }),
    phrase: 'requested approval for',
    webhook: 'approval.requested',
  },
  'approval.decided': {
    objectType: 'approval',
    data: z.object({ model, version, approvalId: z.string(), approved: z.boolean() }),
    phrase: 'decided an approval for',
    webhook: 'approval.decided',
  },
  'alias.set': {
    objectType: 'model',
    data: z.object({ model, alias: z.string(), from: version.nullable(), to: version }),
    phrase: 'set an alias of',
    webhook: 'alias.changed',
    serving: true,
  },
  'alias.deleted': {
    objectType: 'model',
    data: z.object({ model, alias: z.string(), from: version, to: z.null() }),
    phrase: 'removed an alias of',
    webhook: 'alias.changed',
    serving: true,
  },
  'deployment.changed': {
    objectType: 'model',
    phrase: 'changed the deployment of',
    webhook: 'deployment.changed',
    serving: true,
    data: change.extend({ model, revision: z.number().int(), comment: z.string() }),
  },
  'deployment.rolled_back': {
    objectType: 'model',
    data: z.object({ model, version, reason: z.string(), revision: z.number().int() }),
    phrase: 'rolled back a pilot of',
    webhook: 'deployment.rolled_back',
  },
  /** A pilot's statistical rule found it better than production (issue 18): the evidence is the reason. */
  'deployment.promoted': {
    objectType: 'model',
    data: z.object({ model, version, reason: z.string(), revision: z.number().int().nullable() }),
    phrase: 'promoted a pilot of',
    webhook: 'deployment.promoted',
  },
  'alerts.rules_changed': { objectType: 'model', data: summary, phrase: 'changed the alert rules of' },
  /** Alerts of silent versions are recorded, never delivered (silent deployments have no side effects). */
  'alert.firing': { objectType: 'alert', data: ZAlert, phrase: 'fired an alert on', webhook: 'alert.firing' },
  'alert.resolved': {
    objectType: 'alert',
    data: ZAlert.extend({ reason: z.string() }),
    phrase: 'resolved an alert on',
    webhook: 'alert.resolved',
  },
  'job.created': {
    objectType: 'job',
    data: z.object({ type: z.string(), model, version, inputUri: z.string() }),
    phrase: 'started a job on',
  },
  'job.cancelled': { objectType: 'job', data: z.object({ model }), phrase: 'cancelled a job' },
  /** A finished job removed with its files (freeing its bytes in the project's maxStoredBytes). */
  'job.deleted': { objectType: 'job', data: z.object({ model }), phrase: 'deleted a job' },
  /** `run` tells one retry's queue entry from the next. */
  'job.retried': {
    objectType: 'job',
    data: z.object({ model, type: z.string(), run: z.string() }),
    phrase: 'retried a job',
  },
  'schedule.created': { objectType: 'schedule', data: summary, phrase: 'created a schedule of' },
  'schedule.paused': { objectType: 'schedule', data: summary, phrase: 'paused a schedule of' },
  'schedule.resumed': { objectType: 'schedule', data: summary, phrase: 'resumed a schedule of' },
  'schedule.deleted': { objectType: 'schedule', data: summary, phrase: 'deleted a schedule of' },
  'schedule.run': { objectType: 'schedule', data: summary, phrase: 'ran a schedule of' },
  'drift.profile_requested': { objectType: 'modelVersion', data: summary, phrase: 'requested a drift profile of' },
  'drift.report_requested': { objectType: 'modelVersion', data: summary, phrase: 'requested a drift report on' },
  // Stream deployments (issue 19, area "streams"): one webhook event for every change, `action` says which.
  'stream.created': streamEvent('created a stream deployment of'),
  'stream.updated': streamEvent('changed a stream deployment of'),
  'stream.paused': streamEvent('paused a stream deployment of'),
  'stream.resumed': streamEvent('resumed a stream deployment of'),
  'stream.rewound': streamEvent('rewound a stream deployment of'),
  'stream.deleted': streamEvent('deleted a stream deployment of'),
} as const satisfies Record<string, EventDef>;

export type DomainEventType = keyof typeof DOMAIN_EVENTS;
export const DOMAIN_EVENT_TYPES = Object.keys(DOMAIN_EVENTS) as DomainEventType[];
export type DomainEventData<T extends DomainEventType> = z.input<(typeof DOMAIN_EVENTS)[T]['data']>;

/** What a service records: the event's type, the object it is about, and its typed data. */
export type DomainEventInput = {
  /** `project`: the project's name when neither the data's model nor the actor says it (see DomainEvents). */
  [T in DomainEventType]: { type: T; objectId?: string | null; project?: string | null; data: DomainEventData<T> };
}[DomainEventType];

export const isDomainEventType = (t: string): t is DomainEventType => Object.hasOwn(DOMAIN_EVENTS, t);

/** One event's definition, typed as the common shape (indexing DOMAIN_EVENTS with a union gives a union). */
export const eventDef = (type: DomainEventType): EventDef => DOMAIN_EVENTS[type];
