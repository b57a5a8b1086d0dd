import type { DomainEvents } from './domain-events.js';
import type { DomainEventInput } from '@modelyard/contracts';

/** For unit specs: runs changes in place and keeps the events they record, with no database or dispatcher. */
export function recordedEvents(): DomainEvents & { recorded: DomainEventInput[] } {
  const recorded: DomainEventInput[] = [];
  const fake = {
    recorded,
    transaction: <T>(fn: () => Promise<T>) => fn(),
    record: async (_actor: unknown, e: DomainEventInput) => {
      recorded.push(e);
    },
    change: async <T>(
      _actor: unknown,
      fn: () => Promise<T>,
      events: (r: T) => DomainEventInput | DomainEventInput[],
    ) => {
      const r = await fn();
      recorded.push(...[events(r)].flat());
      return r;
    },
  };
  return fake as unknown as DomainEvents & { recorded: DomainEventInput[] };
}
