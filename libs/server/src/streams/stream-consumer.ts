import type { Logger } from 'pino';
import type { TStreamOptions } from '@modelyard/contracts';
import { deadLetter, type StreamScorer } from './stream-scorer.js';
import { GroupGone, type StreamKeys, type StreamPort, type StreamRecord } from './stream-port.js';
import type { StreamMetrics } from './stream-metrics.js';

/** How long a read waits for the first record; also how quickly a paused or stopped consumer notices. */
const BLOCK_MS = 1_000;
/** After a failed batch or a broker error, before the next read. */
const ERROR_PAUSE_MS = 1_000;

export interface ConsumerSpec {
  id: string;
  /** `<model>/<name>`: the metrics label and log field. */
  label: string;
  keys: StreamKeys;
  options: TStreamOptions;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A record's id is its XADD time in milliseconds (then a sequence number). */
const idTime = (id: string) => Number(id.slice(0, id.indexOf('-')));

/**
 * One stream deployment consumed by this worker process: read a batch with XREADGROUP (as many records as the
 * in-flight bound leaves room for), score it, write the results (and dead letters), and only then XACK. Records
 * another consumer held past `claimIdleMs` are claimed and scored the same way; one delivered `maxDeliveries`
 * times goes to the dead-letter stream instead. With `ordered`, one worker holds the deployment's lease and
 * scores one batch at a time; the others wait and take over when the lease lapses.
 */
export class StreamConsumer {
  private stopping = false;
  private loop: Promise<void> | null = null;
  private inFlight = 0;
  private readonly batches = new Set<Promise<void>>();
  /** The ids of the records in hand, per batch, kept fresh on the broker (`touch`) while they are worked on. */
  private readonly held = new Map<Promise<void>, string[]>();
  private keepAlive: NodeJS.Timeout | null = null;
  private claimCursor = '0-0';
  private lastClaim = 0;
  private leader = false;

  constructor(
    readonly spec: ConsumerSpec,
    private readonly port: StreamPort,
    private readonly scorer: StreamScorer,
    private readonly consumer: string,
    private readonly metrics: StreamMetrics,
    private readonly log: Logger,
    private readonly onGone: () => void,
  ) {}

  start() {
    // A third of the idle time: a live consumer's records are touched at least twice before anyone may claim them.
    this.keepAlive ??= setInterval(() => void this.touch(), Math.max(50, this.spec.options.claimIdleMs / 3));
    this.keepAlive.unref();
    this.loop ??= this.run().catch((err: unknown) =>
      this.log.error({ err, stream: this.spec.label }, 'stream loop died'),
    );
  }

  /** Stops reading, lets the batches in hand finish (write, then ack), and lets go of the lease and connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.port.detach(this.spec.keys);
    await this.loop;
    await Promise.allSettled([...this.batches]);
    if (this.keepAlive) clearInterval(this.keepAlive);
    // A read that started as we stopped opened a new connection.
    await this.port.detach(this.spec.keys);
    if (this.leader) await this.port.release(this.spec.id, this.consumer).catch(() => undefined);
    this.metrics.inFlight.remove({ stream: this.spec.label });
  }

  private async run() {
    const { options } = this.spec;
    while (!this.stopping) {
      try {
        if (options.ordered && !(await this.holdLease())) {
          await sleep(Math.min(BLOCK_MS, options.claimIdleMs / 3));
          continue;
        }
        if (Date.now() - this.lastClaim >= Math.max(100, options.claimIdleMs / 2)) await this.claim();
        const room = options.maxInFlight - this.inFlight;
        if (room <= 0) {
          await Promise.race(this.batches);
          continue;
        }
        const records = await this.port.read(
          this.spec.keys,
          this.consumer,
          Math.min(options.batchSize, room),
          // An ordered consumer must be back to renew its lease (its time-to-live is claimIdleMs).
          options.ordered ? Math.min(BLOCK_MS, Math.max(50, options.claimIdleMs / 3)) : BLOCK_MS,
        );
        if (this.stopping && !records.length) break;
        if (records.length) {
          const batch = this.handle(records);
          // Ordered: one batch at a time, so a key's records are written in the order they were read.
          if (options.ordered) await batch;
        }
      } catch (e) {
        if (this.stopping) break;
        if (e instanceof GroupGone) {
          this.log.warn(
            { stream: this.spec.label },
            'consumer group gone; stopping until the deployment is read again',
          );
          this.onGone();
          break;
        }
        this.metrics.errors.inc({ stream: this.spec.label });
        this.log.warn({ err: e, stream: this.spec.label }, 'stream read failed');
        await sleep(ERROR_PAUSE_MS);
      }
    }
  }

  /**
   * The ordered mode's lease, renewed at each pass (its time-to-live is `claimIdleMs`). A new holder first takes
   * every record the last one left pending, before any new record: its older records are written first.
   */
  private async holdLease(): Promise<boolean> {
    const held = await this.port.lease(this.spec.id, this.consumer, this.spec.options.claimIdleMs);
    if (held && !this.leader) {
      this.leader = true;
      let cursor = '0-0';
      do {
        const r = await this.port.claimIdle(this.spec.keys, this.consumer, 0, this.spec.options.batchSize, cursor);
        cursor = r.next;
        if (r.records.length) await this.handle(r.records, true);
      } while (cursor !== '0-0' && !this.stopping);
    }
    this.leader = held;
    return held;
  }

  private async touch() {
    // The lease too: an ordered batch that takes long must not hand the stream to another worker meanwhile.
    if (this.leader)
      this.leader = await this.port.lease(this.spec.id, this.consumer, this.spec.options.claimIdleMs).catch(() => true);
    const ids = [...this.held.values()].flat();
    if (!ids.length) return;
    await this.port
      .touch(this.spec.keys, this.consumer, ids)
      .catch((err: unknown) => this.log.warn({ err, stream: this.spec.label }, 'could not touch records in hand'));
  }

  /** Records held unacknowledged past `claimIdleMs` (their consumer died, or a batch of ours failed). */
  private async claim() {
    this.lastClaim = Date.now();
    const room = this.spec.options.maxInFlight - this.inFlight;
    if (room <= 0) return;
    const r = await this.port.claimIdle(
      this.spec.keys,
      this.consumer,
      this.spec.options.claimIdleMs,
      Math.min(this.spec.options.batchSize, room),
      this.claimCursor,
    );
    this.claimCursor = r.next;
    if (r.records.length) {
      this.metrics.redelivered.inc({ stream: this.spec.label }, r.records.length);
      const batch = this.handle(r.records, true);
      if (this.spec.options.ordered) await batch;
    }
  }

  private handle(records: StreamRecord[], claimed = false): Promise<void> {
    this.inFlight += records.length;
    this.metrics.inFlight.set({ stream: this.spec.label }, this.inFlight);
    const p: Promise<void> = this.process(records, claimed)
      .catch(async (err: unknown) => {
        // Not acknowledged: the records stay pending with us, and are claimed again after claimIdleMs.
        this.metrics.errors.inc({ stream: this.spec.label });
        this.log.warn({ err, stream: this.spec.label, records: records.length }, 'stream batch failed; will retry');
        await sleep(ERROR_PAUSE_MS);
      })
      .finally(() => {
        this.inFlight -= records.length;
        this.metrics.inFlight.set({ stream: this.spec.label }, this.inFlight);
        this.batches.delete(p);
        this.held.delete(p);
      });
    this.batches.add(p);
    this.held.set(
      p,
      records.map((r) => r.id),
    );
    return p;
  }

  private async process(records: StreamRecord[], claimed: boolean) {
    const { options, keys, label } = this.spec;
    let todo = records;
    const tooMany: Record<string, string>[] = [];
    if (claimed) {
      todo = [];
      for (const r of records) {
        if (r.deliveries > options.maxDeliveries)
          tooMany.push(
            deadLetter(r, `delivered ${r.deliveries} times without being acknowledged (its workers failed on it)`),
          );
        else todo.push(r);
      }
    }
    const scored = todo.length ? await this.scorer.score(todo) : { results: [], dead: [], versions: new Map() };
    const dead = [...tooMany, ...scored.dead];
    // Results (and dead letters) first, then the acknowledgement: a crash in between repeats, never loses.
    await Promise.all([
      this.port.write(keys.sink, scored.results, options.sinkMaxLen),
      this.port.write(keys.deadLetter, dead, options.sinkMaxLen),
    ]);
    await this.port.ack(
      keys,
      records.map((r) => r.id),
    );
    const now = Date.now();
    for (const r of scored.results)
      this.metrics.latency.observe({ stream: label }, (now - idTime(r.source_id!)) / 1000);
    if (scored.results.length) this.metrics.records.inc({ stream: label, outcome: 'scored' }, scored.results.length);
    if (dead.length) this.metrics.records.inc({ stream: label, outcome: 'dead_lettered' }, dead.length);
  }
}
