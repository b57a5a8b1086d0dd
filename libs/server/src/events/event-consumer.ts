import type { DomainEventType } from '@modelyard/contracts';

/** A committed domain event as its consumers get it, once or more (consumers are idempotent by `id`). */
export interface DeliveredEvent {
  id: string;
  type: DomainEventType;
  actor: { kind: string; id: string | null; name: string | null; apiKeyId: string | null; ip: string | null };
  objectType: string;
  objectId: string | null;
  /** The name of the project it happened in; null for platform events. */
  project: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** Something that reacts to every committed event (the audit log, webhooks), provided under EVENT_CONSUMERS. */
export interface EventConsumer {
  consume(event: DeliveredEvent): Promise<void>;
}

export const EVENT_CONSUMERS = Symbol('EVENT_CONSUMERS');
