import { Injectable } from '@nestjs/common';
import { eventDef, type DomainEventInput } from '@modelyard/contracts';
import { EventDispatcher } from './event-dispatcher.js';
import { OutboxRepository } from './outbox.repository.js';
import type { Principal } from '../auth/principal.js';
import { asJson } from '../db/json.js';
import { ScopedContext } from '../platform/scoped-context.js';
import { projectOfKey } from '../tenancy/model-key.js';

/** Events about the platform itself, in no project. */
const PLATFORM_OBJECTS = new Set(['user', 'group', 'project']);

/**
 * The project an event is in (its webhooks receive it, its audit rows carry it): a model's event is in the
 * model's project (the system acts in every project), anything else in the project its actor acted in.
 */
function projectOf(actor: Principal | null, objectType: string, data: unknown): string | null {
  if (PLATFORM_OBJECTS.has(objectType)) return null;
  const model = (data as { model?: unknown }).model;
  if (typeof model === 'string') return projectOfKey(model);
  return actor?.project?.name ?? null;
}

/** Who made a change, as the audit log shows it. */
export const actorOf = (p: Principal | null) => ({
  kind: p?.kind ?? 'anonymous',
  id: p && p.kind !== 'system' ? p.id : null,
  name: p?.name ?? null,
  apiKeyId: p?.apiKeyId ?? null,
  ip: p?.ip ?? null,
});

/**
 * How services say what changed. `transaction(fn)` runs a change and the events it records in one Postgres
 * transaction (the outbox), then dispatches them; `record` alone is its own small transaction. Nothing a
 * service does after its change can be lost between the commit and a side effect any more: the side effects
 * (audit, webhooks, queued work, serving refresh) are the dispatcher's, from the committed events.
 */
@Injectable()
export class DomainEvents {
  /** Events recorded inside the transaction `transaction()` opened, dispatched once it commits. */
  private readonly committing = new ScopedContext<bigint[]>();

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly dispatcher: EventDispatcher,
  ) {}

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.outbox.inTransaction) return fn();
    const recorded: bigint[] = [];
    const result = await this.committing.run(recorded, () => this.outbox.transaction(fn));
    await this.dispatcher.dispatch(recorded);
    return result;
  }

  /** One change and the event(s) it makes, all or nothing: the common case of `transaction` and `record`. */
  change<T>(
    actor: Principal | null,
    fn: () => Promise<T>,
    events: (result: T) => DomainEventInput | DomainEventInput[],
  ): Promise<T> {
    return this.transaction(async () => {
      const result = await fn();
      for (const e of [events(result)].flat()) await this.record(actor, e);
      return result;
    });
  }

  async record(actor: Principal | null, event: DomainEventInput): Promise<void> {
    const def = eventDef(event.type);
    const data = def.data.parse(event.data);
    const { seq } = await this.outbox.insert({
      type: event.type,
      actor: actorOf(actor),
      objectType: def.objectType,
      objectId: event.objectId ?? null,
      project: event.project ?? projectOf(actor, def.objectType, data),
      data: asJson(data),
    });
    if (!this.outbox.inTransaction) return this.dispatcher.dispatch([seq]);
    // Inside transaction(): dispatched after its commit. Inside a transaction opened elsewhere: by the backlog pass.
    this.committing.get()?.push(seq);
  }
}
