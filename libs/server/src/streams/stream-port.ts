import type { TStreamStats } from '@modelyard/contracts';

/** One record read from a source: its id in the source (the result carries it), its fields, and its deliveries. */
export interface StreamRecord {
  id: string;
  fields: Record<string, string>;
  /** How many times the group has handed this record out (1 on a first read; more once reclaimed). */
  deliveries: number;
}

/** Where a consumer group starts or restarts: an id in the source, its beginning or its end. */
export type StreamPosition = { id: string } | { time: number } | 'earliest' | 'latest';

/** The keys one stream deployment uses on the broker. */
export interface StreamKeys {
  source: string;
  sink: string;
  deadLetter: string;
  group: string;
}

/**
 * The one interface between stream deployments and a broker. Redis Streams is `redis-stream-port.ts`; a Kafka
 * adapter would be one more file implementing this (group = consumer group, id = partition:offset, `claimIdle`
 * = the rebalance handing a dead member's partitions to the living, `lease` = owning a partition).
 * At-least-once comes from the caller: write the results, then `ack`.
 */
export interface StreamPort {
  /** Creates the consumer group when it does not exist (and the source with it); an existing group is kept. */
  ensureGroup(keys: StreamKeys, start: StreamPosition): Promise<void>;
  /** New records for this consumer, waiting up to `blockMs` for the first; [] when none came. */
  read(keys: StreamKeys, consumer: string, count: number, blockMs: number): Promise<StreamRecord[]>;
  /**
   * Records other consumers (or this one) hold unacknowledged for at least `minIdleMs`, now this consumer's,
   * scanning the pending list from `cursor` ('0-0': its start); `next` is where the next scan goes on ('0-0' once
   * the whole list was scanned).
   */
  claimIdle(
    keys: StreamKeys,
    consumer: string,
    minIdleMs: number,
    count: number,
    cursor: string,
  ): Promise<{ records: StreamRecord[]; next: string }>;
  /** Appends records to a stream in order, trimming it to about `maxLen` records (0: no trimming). */
  write(stream: string, records: Record<string, string>[], maxLen: number): Promise<void>;
  ack(keys: StreamKeys, ids: string[]): Promise<void>;
  /**
   * Tells the broker this consumer still works on these records (their idle time starts again), so a slow batch
   * of a live consumer is never claimed by another: only a dead consumer's records go idle.
   */
  touch(keys: StreamKeys, consumer: string, ids: string[]): Promise<void>;
  /** Moves the group: records after the position are delivered again. Pending records stay pending. */
  rewind(keys: StreamKeys, to: StreamPosition): Promise<void>;
  /** Removes the group (its pending list with it); the streams themselves are the producers' and consumers'. */
  dropGroup(keys: StreamKeys): Promise<void>;
  stats(keys: StreamKeys): Promise<TStreamStats>;
  /**
   * Holds (or renews) an exclusive lease for `ttlMs`: ordered streams are consumed by one holder at a time.
   * False when someone else holds it.
   */
  lease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
  /** Lets go of what this process holds for the group (a blocking connection) once it stops consuming it. */
  detach(keys: StreamKeys): Promise<void>;
  close(): Promise<void>;
}

/** A group that vanished under a consumer (deleted stream deployment, flushed broker): the consumer stops. */
export class GroupGone extends Error {
  constructor(group: string) {
    super(`consumer group ${group} does not exist`);
    this.name = 'GroupGone';
  }
}
