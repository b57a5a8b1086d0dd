import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import type { CommonConfig } from '@modelyard/config';
import { COMMON_CONFIG } from './tokens.js';

/** A command on a connected but unresponsive Redis fails after this long instead of waiting forever. */
const COMMAND_TIMEOUT_MS = 2_000;

/**
 * The command client of api and worker processes (BullMQ producers, rate limits, the prediction log and store,
 * pub/sub). While Redis is down it must fail fast, never hold a request: commands queue only until the first
 * connection (boot), after which a disconnected client refuses them at once (no offline queue) and a command
 * in flight is retried once. BullMQ's Workers block on connections of their own (redisOptions).
 */
export function createRedis(url: string): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    lazyConnect: false,
    enableAutoPipelining: true,
    // Reconnect forever, backing off to one attempt a second: an outage ends on its own.
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  });
  client.once('ready', () => {
    client.options.enableOfflineQueue = false;
  });
  quietErrors(client);
  return client;
}

/**
 * ioredis prints every failed reconnect as an unhandled error event unless someone listens. An outage is
 * reported by the commands that fail (and /readyz); here it is only noted once per outage on stderr.
 */
function quietErrors(client: Redis) {
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    console.error(`redis: ${err.message} (reconnecting)`);
  });
  client.on('ready', () => {
    down = false;
  });
}

/**
 * Connection options (not a client) for BullMQ Workers and QueueEvents: BullMQ closes connections it made
 * itself, but never a client it was handed, which would keep the process alive after shutdown.
 */
export function redisOptions(url: string): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    // Back within two seconds of Redis returning (BullMQ's own default backs off to 20 s).
    retryStrategy: (times: number) => Math.min(times * 200, 2_000),
  };
}

/**
 * Redis for commands and a second connection for subscriptions (a subscribed connection can do nothing else).
 * Channel and key names are prefixed so several installs or test runs can share one Redis.
 */
@Injectable()
export class RedisService implements OnModuleDestroy {
  readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  constructor(@Inject(COMMON_CONFIG) private readonly cfg: CommonConfig) {
    this.client = createRedis(cfg.redis.url);
  }

  key(...parts: string[]): string {
    return [this.cfg.redis.prefix, ...parts].join(':');
  }

  /**
   * Best effort: a change is already committed when it is announced, so a Redis outage must not fail the
   * request that made it. Every listener also heals on its own (serving state and key caches re-read Postgres),
   * so a lost message only delays. False when Redis did not take it.
   */
  async publish(channel: string, message: string): Promise<boolean> {
    try {
      await this.client.publish(this.key('events', channel), message);
      return true;
    } catch {
      return false;
    }
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    const full = this.key('events', channel);
    if (!this.subscriber) {
      // Subscriptions wait for the connection and are restored after a reconnect: offline queue on, no timeout.
      this.subscriber = this.client.duplicate({
        enableOfflineQueue: true,
        commandTimeout: undefined,
        maxRetriesPerRequest: null,
      });
      quietErrors(this.subscriber);
      this.subscriber.on('message', (ch: string, msg: string) => this.handlers.get(ch)?.forEach((h) => h(msg)));
    }
    let set = this.handlers.get(full);
    if (!set) {
      set = new Set();
      this.handlers.set(full, set);
      await this.subscriber.subscribe(full);
    }
    set.add(handler);
  }

  async ping(): Promise<void> {
    const r = await this.client.ping();
    if (r !== 'PONG') throw new Error(`unexpected PING reply ${r}`);
  }

  async onModuleDestroy() {
    await Promise.allSettled([this.client.quit(), this.subscriber?.quit()]);
  }
}
