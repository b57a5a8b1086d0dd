import type { Redis } from 'ioredis';
import type { TStreamStats } from '@modelyard/contracts';
import { GroupGone, type StreamKeys, type StreamPort, type StreamPosition, type StreamRecord } from './stream-port.js';

type Entry = [id: string, fields: string[] | null];

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

/** The id just before the first record a group should see next (XGROUP CREATE/SETID take the last one seen). */
export function groupId(p: StreamPosition): string {
  if (p === 'earliest') return '0';
  if (p === 'latest') return '$';
  if ('id' in p) return p.id;
  // Records added at or after `time`: the last possible id of the millisecond before.
  return p.time <= 0 ? '0' : `${Math.floor(p.time) - 1}-18446744073709551615`;
}

function fieldsOf(flat: string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!flat) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

const isNoGroup = (e: unknown) => e instanceof Error && /NOGROUP/.test(e.message);

/**
 * Stream deployments on Redis Streams: consumer groups (XREADGROUP), XACK after the result is written, XAUTOCLAIM
 * for records a dead consumer held, XADD MAXLEN ~ on the sink. Every command names one key, so the streams of one
 * deployment may live on different Redis Cluster shards. Blocking reads take a connection of their own per
 * consumer group (a blocked connection can do nothing else); everything else shares one.
 */
export class RedisStreamPort implements StreamPort {
  private readonly readers = new Map<string, Redis>();

  constructor(
    private readonly client: Redis,
    private readonly leasePrefix: string,
  ) {}

  async ensureGroup(keys: StreamKeys, start: StreamPosition): Promise<void> {
    try {
      await this.client.xgroup('CREATE', keys.source, keys.group, groupId(start), 'MKSTREAM');
    } catch (e) {
      if (!(e instanceof Error && /BUSYGROUP/.test(e.message))) throw e;
    }
  }

  async read(keys: StreamKeys, consumer: string, count: number, blockMs: number): Promise<StreamRecord[]> {
    let reader = this.readers.get(keys.group);
    if (!reader) {
      reader = this.client.duplicate({
        commandTimeout: undefined,
        maxRetriesPerRequest: null,
        enableOfflineQueue: true,
      });
      reader.on('error', () => undefined);
      this.readers.set(keys.group, reader);
    }
    let res: [string, Entry[]][] | null;
    try {
      res = (await reader.xreadgroup(
        'GROUP',
        keys.group,
        consumer,
        'COUNT',
        count,
        'BLOCK',
        blockMs,
        'STREAMS',
        keys.source,
        '>',
      )) as [string, Entry[]][] | null;
    } catch (e) {
      if (isNoGroup(e)) throw new GroupGone(keys.group);
      throw e;
    }
    if (!res) return [];
    return res[0]![1].map(([id, f]) => ({ id, fields: fieldsOf(f), deliveries: 1 }));
  }

  async claimIdle(
    keys: StreamKeys,
    consumer: string,
    minIdleMs: number,
    count: number,
    cursor: string,
  ): Promise<{ records: StreamRecord[]; next: string }> {
    let res: [string, Entry[], string[]?];
    try {
      res = (await this.client.xautoclaim(keys.source, keys.group, consumer, minIdleMs, cursor, 'COUNT', count)) as [
        string,
        Entry[],
        string[]?,
      ];
    } catch (e) {
      if (isNoGroup(e)) throw new GroupGone(keys.group);
      throw e;
    }
    // Entries trimmed from the source while pending come back without fields; Redis has already dropped them.
    const entries = res[1].filter((e) => e[1] !== null);
    if (!entries.length) return { records: [], next: res[0] };
    const pending = (await this.client.xpending(
      keys.source,
      keys.group,
      entries[0]![0],
      entries[entries.length - 1]![0],
      entries.length * 2,
      consumer,
    )) as [string, string, number, number][];
    const times = new Map(pending.map((p) => [p[0], Number(p[3])]));
    return {
      records: entries.map(([id, f]) => ({ id, fields: fieldsOf(f), deliveries: times.get(id) ?? 2 })),
      next: res[0],
    };
  }

  async write(stream: string, records: Record<string, string>[], maxLen: number): Promise<void> {
    if (!records.length) return;
    const p = this.client.pipeline();
    for (const r of records) {
      const flat: string[] = [];
      for (const k in r) flat.push(k, r[k]!);
      if (maxLen > 0) p.xadd(stream, 'MAXLEN', '~', maxLen, '*', ...flat);
      else p.xadd(stream, '*', ...flat);
    }
    const out = await p.exec();
    const failed = out?.find(([err]) => err);
    if (failed) throw failed[0]!;
  }

  async ack(keys: StreamKeys, ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 1000)
      await this.client.xack(keys.source, keys.group, ...ids.slice(i, i + 1000));
  }

  async touch(keys: StreamKeys, consumer: string, ids: string[]): Promise<void> {
    // XCLAIM to ourselves with JUSTID resets the idle time and leaves the delivery count alone.
    for (let i = 0; i < ids.length; i += 1000)
      await this.client.xclaim(keys.source, keys.group, consumer, 0, ...ids.slice(i, i + 1000), 'JUSTID');
  }

  async rewind(keys: StreamKeys, to: StreamPosition): Promise<void> {
    try {
      await this.client.xgroup('SETID', keys.source, keys.group, groupId(to));
    } catch (e) {
      if (isNoGroup(e) || (e instanceof Error && /no such key|requires the key to exist/i.test(e.message)))
        throw new GroupGone(keys.group);
      throw e;
    }
  }

  async dropGroup(keys: StreamKeys): Promise<void> {
    await this.detach(keys);
    try {
      await this.client.xgroup('DESTROY', keys.source, keys.group);
    } catch (e) {
      if (!(e instanceof Error && /no such key|requires the key to exist/i.test(e.message))) throw e;
    }
  }

  async stats(keys: StreamKeys): Promise<TStreamStats> {
    const [groups, sinkLength, deadLetterLength] = await Promise.all([
      this.client.xinfo('GROUPS', keys.source).catch((e: unknown) => {
        if (e instanceof Error && /no such key/i.test(e.message)) return [];
        throw e;
      }) as Promise<unknown[][]>,
      this.client.xlen(keys.sink),
      this.client.xlen(keys.deadLetter),
    ]);
    for (const g of groups) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      if (info.name !== keys.group) continue;
      return {
        lag: info.lag === null || info.lag === undefined ? null : Number(info.lag),
        pending: Number(info.pending ?? 0),
        sinkLength,
        deadLetterLength,
        lastDeliveredId: String(info['last-delivered-id'] ?? '') || null,
      };
    }
    return { lag: null, pending: 0, sinkLength, deadLetterLength, lastDeliveredId: null };
  }

  async lease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const r = await this.client.eval(RENEW, 1, `${this.leasePrefix}${name}`, holder, ttlMs);
    return Number(r) === 1;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.client.eval(RELEASE, 1, `${this.leasePrefix}${name}`, holder);
  }

  /** Closes the blocking connection of a group this process no longer consumes. */
  async detach(keys: StreamKeys): Promise<void> {
    const r = this.readers.get(keys.group);
    this.readers.delete(keys.group);
    if (r) r.disconnect();
  }

  async close(): Promise<void> {
    for (const r of this.readers.values()) r.disconnect();
    this.readers.clear();
  }
}
